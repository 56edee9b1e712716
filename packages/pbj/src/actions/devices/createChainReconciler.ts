import { messageOf } from '@pbj/internal/messageOf.js'
import type { ReconcileReason } from '../../core/deviceCorrection.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import { createChangeSchedule } from './createChangeSchedule.js'
import { type ReconcileAllServices, reconcileAll } from './reconcileAll.js'

/** Options of {@link createChainReconciler}. */
export type ChainReconcilerOptions = {
  services: ReconcileAllServices
  /** How often a periodic pass runs (ms); 0 never (passes still run when asked). */
  intervalMs: number
  /**
   * Awaited before each pass, e.g. until the runs in flight are done, so a pass does not race them. `signal`
   * aborts when the reconciler closes: stop waiting then.
   */
  settle?: (signal: AbortSignal) => Promise<void>
  /** Devices looked at together; their chain reads go out in one batch. Default 32. */
  concurrency?: number
}

/** What one pass did: the 'reconciled' event's fields. */
export type ReconcileSummary = EngineEvents['reconciled']

/**
 * The level-triggered safety net over devices. See {@link createChainReconciler}.
 *
 * @example
 * reconciler.start()
 * reconciler.request('reorg')
 * const { corrected } = await reconciler.reconcile('manual')
 */
export type ChainReconciler = {
  /** Whether the device class can say what the chain wants (`desiredFromChain`); without it passes do nothing. */
  enabled: boolean
  /**
   * Runs a pass and resolves with what it did. One pass at a time: asked while one runs, it runs once more
   * after it (however many asked meanwhile; the reason of the first that asked, but a full pass wins over
   * a `scheduled` one, which it covers), and resolves with that one. A `scheduled` pass with nothing due
   * resolves with null.
   */
  reconcile(reason: ReconcileReason): Promise<ReconcileSummary | null>
  /** `reconcile` without waiting; a failed pass is logged as a warning. */
  request(reason: ReconcileReason): void
  /**
   * Told each processed block's timestamp (and number): re-checks (a `scheduled` pass over just them, the
   * chain read at that block, else at the head) the devices whose chain answer was due to change by then.
   * O(1) when none is due.
   */
  onBlockTime(timestamp: bigint, blockNumber?: bigint): void
  /** The earliest time a device's answer changes, or null: O(1). */
  nextChangeAt(): bigint | null
  /** Runs a periodic pass every `intervalMs` until closed. */
  start(): void
  /** Stops the interval and waits for a pass in flight to stop (it stops between devices). */
  close(): Promise<void>
}

/**
 * Reconciles every device with the chain: for each device the store knows (a thousand per page) and each
 * the device class lists from the chain, asks the class what the chain says it should be at the head block
 * (`desiredFromChain`), compares that with the stored desired state by meaning and, when they differ, sends
 * the chain's state through the normal guarded, signed path (reconcileDevice). Each correction is recorded
 * (`store.deviceCorrections`) and emitted ('device:corrected', reason 'chain'); each pass ends with
 * 'reconciled'. Edge-triggered functions make the fast path; this is what makes a missed event, a lost
 * command, a store edited by hand or a reorg deeper than the window come right. The engine asks for a pass
 * after start-up, an outage, any reorg and on its interval (engine/wireReconciliation).
 *
 * It is also time-aware: each device's answer may say when it changes by itself (`changesAt`, e.g. a lock
 * time); the reconciler keeps those times (createChangeSchedule, refreshed by every check of the device)
 * and, on the first block whose timestamp reaches one, re-checks just those devices (reason `scheduled`),
 * so a deadline whose timer was lost or moved by a vanished event takes effect then, not at the next
 * periodic pass. A time already reached at the last block is not kept: the answer just read reflects it.
 *
 * @example
 * const reconciler = createChainReconciler({ services, intervalMs: 60_000 })
 * reconciler.start()
 */
export function createChainReconciler(options: ChainReconcilerOptions): ChainReconciler {
  const { services, intervalMs } = options
  const deviceClass = services.deviceClass
  const desiredFromChain = deviceClass?.desiredFromChain
  const concurrency = options.concurrency ?? 32
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const closing = new AbortController()
  let running: Promise<ReconcileSummary | null> | null = null
  const schedule = createChangeSchedule()
  /** The timestamp of the last block processed: times up to it are in effect. */
  let now = 0n
  let nowBlock: bigint | undefined
  const onChangesAt = (deviceId: string, at: bigint | null) =>
    schedule.set(deviceId, at !== null && at > now ? at : null)
  let queued: {
    reason: ReconcileReason
    promise: Promise<ReconcileSummary | null>
    resolve(summary: ReconcileSummary | null): void
    reject(error: unknown): void
  } | null = null

  const pass = async (reason: ReconcileReason): Promise<ReconcileSummary | null> => {
    if (!deviceClass || !desiredFromChain || closed) return null
    await options.settle?.(closing.signal)
    if (closed) return null
    const only = reason === 'scheduled' ? schedule.due(now) : undefined
    if (only?.length === 0) return null
    return reconcileAll(services, { ...deviceClass, desiredFromChain }, reason, {
      concurrency,
      stopped: () => closed,
      only,
      onChangesAt,
      atBlock: only ? nowBlock : undefined,
    })
  }

  /** Starts a pass; when it settles, the one queued meanwhile (if any) starts. */
  const launch = (reason: ReconcileReason): Promise<ReconcileSummary | null> => {
    const current = pass(reason)
    running = current
    const done = () => {
      running = null
      const waiting = queued
      queued = null
      if (waiting) launch(waiting.reason).then(waiting.resolve, waiting.reject)
    }
    current.then(done, done)
    return current
  }

  const reconcile = (reason: ReconcileReason): Promise<ReconcileSummary | null> => {
    if (!running) return launch(reason)
    if (!queued) {
      let resolve: (summary: ReconcileSummary | null) => void = () => {}
      let reject: (error: unknown) => void = () => {}
      const promise = new Promise<ReconcileSummary | null>((ok, fail) => {
        resolve = ok
        reject = fail
      })
      queued = { reason, promise, resolve, reject }
    } else if (queued.reason === 'scheduled') queued.reason = reason
    return queued.promise
  }

  const request = (reason: ReconcileReason) => {
    reconcile(reason).catch((error: unknown) => {
      if (closed) return
      services.logger.warn(
        `device reconciliation (${reason}) failed: ${messageOf(error, { firstLine: true })}`,
        {
          reason,
        },
      )
    })
  }

  return {
    enabled: Boolean(desiredFromChain),
    reconcile,
    request,
    nextChangeAt: () => schedule.next(),
    onBlockTime(timestamp, blockNumber) {
      now = timestamp
      nowBlock = blockNumber
      const next = schedule.next()
      if (next !== null && next <= timestamp && !closed) request('scheduled')
    },
    start() {
      if (!(intervalMs > 0) || !desiredFromChain) return
      // Skipped while a pass runs: it is finding the same.
      timer = setInterval(() => running || request('periodic'), intervalMs)
      timer.unref()
    },
    async close() {
      closed = true
      closing.abort()
      clearInterval(timer)
      await Promise.allSettled([running, queued?.promise])
    },
  }
}
