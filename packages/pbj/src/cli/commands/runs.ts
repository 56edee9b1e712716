import { loadConfig } from '../../config/loadConfig.js'
import type { Job } from '../../core/job.js'
import type { Run } from '../../core/run.js'
import type { Store } from '../../core/store.js'
import {
  InvalidFlagError,
  JobNotRetryableError,
  MissingArgumentError,
  UnknownJobError,
  UnknownSubcommandError,
} from '../../internal/errors.js'
import { toJsonLine } from '../../internal/toJsonLine.js'
import { openProjectStore } from '../openProjectStore.js'

type RunsOptions = {
  dir?: string
  function?: string
  status?: string
  limit?: string
  json?: boolean
  dead?: boolean
  args?: string[]
}

/**
 * `pbj runs`: the latest runs in the project's store, with status, timing and error; `--dead` lists the
 * jobs that failed or exhausted their retries, and those held for an empty execution balance; `retry <id>` re-queues one (a running engine picks it up
 * from the store within a fraction of a second).
 *
 * @example
 * await runsCommand({ dir: '.', status: 'failed' })
 * await runsCommand({ dir: '.', args: ['retry', '31337:0xabc…:timer:lock:1:lockOnMissedPayment'] })
 */
export async function runsCommand(o: RunsOptions) {
  const dir = o.dir ?? process.cwd()
  const { config } = await loadConfig(dir)
  const [sub, id] = o.args ?? []
  if (sub !== undefined && sub !== 'retry') {
    throw new UnknownSubcommandError({
      command: 'runs',
      sub,
      expected: ['retry'],
      hint: 'Use `pbj runs`, `pbj runs --dead` or `pbj runs retry <id>`.',
    })
  }
  if (o.status && o.status !== 'ok' && o.status !== 'failed' && o.status !== 'running') {
    throw new InvalidFlagError({ flag: '--status', value: o.status, expected: 'ok, failed or running' })
  }
  const store = openProjectStore(dir, config)
  try {
    if (sub === 'retry') return await retry(store, id, o.json)
    if (o.dead) {
      // Held jobs (prepaid balance too low) are listed with their reason; a deposit resumes them.
      for (const j of await store.listJobs({
        status: ['failed', 'dead', 'held'],
        limit: Number(o.limit ?? 20),
      }))
        printJob(j, o.json)
      return 0
    }
    const runs = await store.listRuns({
      ...(o.function ? { functionName: o.function } : {}),
      ...(o.status ? { status: o.status as Run['status'] } : {}),
      limit: Number(o.limit ?? 20),
    })
    for (const r of runs) printRun(r, o.json)
    return 0
  } finally {
    await store.close()
  }
}

async function retry(store: Store, id: string | undefined, json?: boolean) {
  if (!id)
    throw new MissingArgumentError({
      command: 'runs retry',
      needs: 'a job id or a run id',
      hint: 'Find one with `pbj runs --dead`.',
    })
  const jobId = (await store.getRun(id))?.jobId ?? id
  const job = await store.getJob(jobId)
  if (!job) throw new UnknownJobError({ id })
  const queued = await store.retryJob(jobId, Date.now())
  if (!queued) {
    throw new JobNotRetryableError({ jobId, status: job.status })
  }
  process.stdout.write(json ? toJsonLine({ retried: jobId }) : `re-queued ${jobId} (${job.functionName})\n`)
  return 0
}

const printRun = (r: Run, json?: boolean) =>
  process.stdout.write(
    json
      ? toJsonLine(r)
      : `${new Date(r.startedAt).toISOString()}  ${r.functionName.padEnd(24)} ${r.status.padEnd(7)} ${(r.durationMs === null ? '-' : r.durationMs.toFixed(1)).padStart(8)} ms  ${r.error ? `${r.error.reason ?? r.error.name}: ${r.error.message}` : ''}\n`,
  )

const printJob = (j: Job, json?: boolean) =>
  process.stdout.write(
    json
      ? toJsonLine(j)
      : `${j.status.padEnd(6)} ${j.functionName.padEnd(24)} attempts ${j.attempts}  block ${j.blockNumber}  ${j.lastError ?? ''}\n       ${j.id}\n`,
  )
