import type { ChainConnection } from '../chain/types.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Store } from '../core/store.js'
import type { Emitter } from '../internal/createEmitter.js'
import type { Health } from '../internal/health.js'

/** What {@link watchLag} reads. */
export type LagServices = {
  health: Pick<Health, 'set'>
  chain: Pick<ChainConnection, 'chainId' | 'latestSeen'>
  store: Pick<Store, 'getCursor'>
  events: Pick<Emitter<EngineEvents>, 'on'>
}

/**
 * Keeps the `lag` check: ok while the last processed block is within `readyLagBlocks` of the highest head
 * the node has shown. Re-checked after every block and every `intervalMs` (a stalled follower processes
 * no blocks, so waiting for the next one would never notice). An empty store has nothing to catch up
 * when it starts at the head; from a block number, the blocks before it count as processed.
 *
 * @example
 * const stop = watchLag(services, { readyLagBlocks: 5, startBlock: 'latest' })
 */
export function watchLag(
  services: LagServices,
  options: { readyLagBlocks: number; startBlock: 'latest' | number; intervalMs?: number },
): () => void {
  const { health, chain, store, events } = services
  let checking = false
  const check = async () => {
    if (checking) return
    checking = true
    try {
      const head = chain.latestSeen()
      const cursor = await store.getCursor(chain.chainId)
      const processed =
        cursor?.number ?? (options.startBlock === 'latest' ? head : BigInt(options.startBlock) - 1n)
      const lag = head > processed ? head - processed : 0n
      const ok = lag <= BigInt(options.readyLagBlocks)
      health.set(
        'lag',
        ok,
        ok
          ? undefined
          : `${lag} blocks behind the node's head ${head} (ready within ${options.readyLagBlocks})`,
      )
    } catch {
      // The store closing under the check (stop): the next check, if any, says.
    } finally {
      checking = false
    }
  }
  const offBlock = events.on('block', () => void check())
  const timer = setInterval(() => void check(), options.intervalMs ?? 1_000)
  timer.unref()
  void check()
  return () => {
    clearInterval(timer)
    offBlock()
  }
}
