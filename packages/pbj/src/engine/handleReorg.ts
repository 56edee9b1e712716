import type { ChainConnection } from '../chain/types.js'
import type { Cursor } from '../core/block.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Job, NewJob } from '../core/job.js'
import type { Store } from '../core/store.js'
import type { Emitter } from '../internal/createEmitter.js'
import type { Queue } from '../queue/types.js'
import type { Common, LoadedFunctions } from './types.js'

/** What handleReorg uses: the chain id, the store it rolls back, the queue, and which functions have onReorg. */
export type ReorgServices = {
  common: Pick<Common, 'options'>
  store: Pick<Store, 'jobsAbove' | 'rollback' | 'getJob'>
  queue: Pick<Queue, 'push'>
  events: Pick<Emitter<EngineEvents>, 'emit'>
  functions: LoadedFunctions['functions']
  /** Whose cached read answers of the rolled-back blocks are dropped. */
  chain?: Pick<ChainConnection, 'forgetReads'>
}

const started = new Set<Job['status']>(['running', 'done', 'failed', 'dead'])

/**
 * Rolls the engine back to `ancestor` after a reorg. Jobs of removed blocks that never started are orphaned
 * (no effect happened); those that did start and whose function has `onReorg` get a compensation job,
 * queued at once, so e.g. a car locked by an orphaned block is unlocked, or a car whose payment vanished is
 * locked again. The store restores timers and conditions in the same transaction.
 *
 * @example
 * await handleReorg(services, ancestor)
 */
export async function handleReorg(services: ReorgServices, ancestor: Cursor): Promise<void> {
  // The connection dropped them when it saw the other fork's headers; this is the rollback's own word.
  services.chain?.forgetReads(ancestor.number + 1n)
  const affected = await services.store.jobsAbove(ancestor.number)
  const compensations: NewJob[] = affected
    .filter(
      (j) =>
        j.entry === 'handler' && started.has(j.status) && services.functions.get(j.functionName)?.hasOnReorg,
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
  const { orphaned } = await services.store.rollback(services.common.options.chainId, ancestor, compensations)
  services.events.emit('reorg', { ancestor: ancestor.number, orphaned, compensations: compensations.length })
  const jobs = await Promise.all(compensations.map((c) => services.store.getJob(c.id)))
  services.queue.push(jobs.filter((j): j is Job => j !== null && j.status === 'pending'))
}
