/** One execution of a job. */
export type Run = {
  id: string
  jobId: string
  functionName: string
  attempt: number
  status: 'running' | 'ok' | 'failed'
  startedAt: number
  endedAt: number | null
  durationMs: number | null
  logs: { level: string; message: string; at: number }[]
  error: { name: string; reason: string | null; message: string } | null
}
