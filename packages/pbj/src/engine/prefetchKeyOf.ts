import type { Job } from '../core/job.js'

/**
 * What a run is about, the same from one block to the next, so the reads its last run made can be asked
 * for before the next one starts (see createReadMemory): the function and its trigger source — a deadline's
 * or schedule's timer id, `blocks`, `condition` — or, for an event, the contract, the event and its first
 * argument (the loan, the car), since the log's index changes with every block. Null for compensations
 * (`onReorg` reads the chain as it is now, not at a block) and for an input that does not parse.
 *
 * @example
 * prefetchKeyOf(job) // 'lockOnMissedPayment|timer:lockOnMissedPayment:42'
 */
export function prefetchKeyOf(job: Pick<Job, 'id' | 'functionName' | 'entry' | 'input'>): string | null {
  if (job.entry !== 'handler') return null
  // The id is `chainId:blockHash:source:functionName` (planBlock).
  const start = job.id.indexOf(':', job.id.indexOf(':') + 1) + 1
  const source = job.id.slice(start, job.id.length - job.functionName.length - 1)
  if (!/^log\d+$/.test(source)) return `${job.functionName}|${source}`
  try {
    const { event } = JSON.parse(job.input) as {
      event?: { address?: string; name?: string; args?: Record<string, unknown> }
    }
    if (!event) return null
    const first = Object.values(event.args ?? {})[0]
    return `${job.functionName}|${event.address}|${event.name}|${JSON.stringify(first ?? null)}`
  } catch {
    return null
  }
}
