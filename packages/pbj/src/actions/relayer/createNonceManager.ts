import { createLock } from '@pbj/internal/createLock.js'
import { NonceNotSyncedError } from './relayerErrors.js'
/**
 * Hands out one sender's nonces in process. Every method but `locked` must be called with the lock held;
 * the relayer allocates, signs and records a transaction inside one `locked` section, so every nonce below
 * `peek()` has a durable record and a gap can only be a nonce some record gave up.
 */
export type NonceManager = {
  /** Runs `fn` with the allocation lock held; sections run one at a time, in call order. */
  locked<T>(fn: () => Promise<T>): Promise<T>
  /** Whether the first `sync` happened. */
  synced(): boolean
  /**
   * Starts (or moves up) the counter: at least the chain's pending count (transactions other senders of
   * this key made count too) and above the highest nonce of a record still in flight.
   */
  sync(pendingCount: number, highestInFlight: number | null): void
  /** The next nonce to hand out. */
  peek(): number
  take(): number
  /** Gives back the nonce just taken when its record could not be written (the section failed). */
  giveBack(nonce: number): void
  /** Moves the counter down to `nonce` once no record in flight sits at or above it (OZ Relayer #818). */
  rewind(nonce: number): void
}

/**
 * A nonce counter behind a promise-chain mutex. Allocation costs no RPC round trip: the chain is asked
 * once at the start and again only when it contradicts the counter.
 *
 * @example
 * const nonces = createNonceManager()
 * const nonce = await nonces.locked(async () => {
 *   if (!nonces.synced()) nonces.sync(await rpc.nonceAt(address, 'pending'), null)
 *   return nonces.take()
 * })
 */
export function createNonceManager(): NonceManager {
  const lock = createLock()
  let next: number | null = null
  const current = () => {
    if (next === null) throw new NonceNotSyncedError()
    return next
  }
  return {
    locked: (fn) => lock.run(fn),
    synced: () => next !== null,
    sync(pendingCount, highestInFlight) {
      next = Math.max(next ?? 0, pendingCount, highestInFlight === null ? 0 : highestInFlight + 1)
    },
    peek: current,
    take() {
      const n = current()
      next = n + 1
      return n
    },
    giveBack(nonce) {
      if (next === nonce + 1) next = nonce
    },
    rewind(nonce) {
      if (nonce < current()) next = nonce
    },
  }
}
