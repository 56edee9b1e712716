import type { Cursor } from '../core/block.js'
import type { Job, NewJob } from '../core/job.js'
import type { Common } from './types.js'

const started = new Set<Job['status']>(['running', 'done', 'failed', 'dead'])

/**
 * Rolls the engine back to `ancestor` after a reorg. Jobs of removed blocks that never started are orphaned
 * (no effect happened); those that did start and whose function has `onReorg` get a compensation job,
 * queued at once, so e.g. a car locked by an orphaned block is unlocked, or a car whose payment vanished is
 * locked again. The store restores timers and conditions in the same transaction.
 *
 * @example
 * await handleReorg(common, ancestor)
 */
export async function handleReorg(common: Common, ancestor: Cursor): Promise<void> {
  const affected = await common.store.jobsAbove(ancestor.number)
  const compensations: NewJob[] = affected
    .filter(
      (j) =>
        j.entry === 'handler' && started.has(j.status) && common.functions.get(j.functionName)?.hasOnReorg,
    )
    .map((j) => ({
      id: `${j.id}:reorg`,
      functionName: j.functionName,
      entry: 'onReorg',
      input: j.input,
      blockNumber: j.blockNumber,
      blockHash: j.blockHash,
      readyAt: j.blockNumber,
    }))
  const { orphaned } = await common.store.rollback(common.chainId, ancestor, compensations)
  common.events.emit('reorg', { ancestor: ancestor.number, orphaned, compensations: compensations.length })
  const jobs = await Promise.all(compensations.map((c) => common.store.getJob(c.id)))
  common.queue.push(jobs.filter((j): j is Job => j !== null && j.status === 'pending'))
}
