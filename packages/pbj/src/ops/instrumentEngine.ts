import { collectDefaultMetrics } from 'prom-client'
import type { DeviceDesired } from '../core/device.js'
import type { Engine } from '../engine/createEngine.js'

/** What {@link instrumentEngine} reads from the engine. */
export type InstrumentedEngine = Pick<
  Engine,
  'chainId' | 'events' | 'store' | 'health' | 'metrics' | 'relayer' | 'payment'
>

/** A device command's action, as the metrics label it. */
export type DeviceAction = 'lock' | 'unlock' | 'warn'

/** How many recent blocks keep their arrival time for the block → acknowledgement latency. */
const blocksRemembered = 1_024
/** A pending relayed transaction this many blocks after a node took it is stuck (the relayer's default). */
const stuckBlocks = 3n

/**
 * Feeds the engine's metrics (see metricCatalog) from what it already tells: its events (blocks, reorgs,
 * device commands, reports, corrections) as they happen, and its store, relayer, meter and health sampled
 * at each scrape. The block → acknowledgement latency runs from pbj receiving the block whose run set a
 * device state to the device reporting that version, by action. With `processMetrics` (default true) the
 * process's CPU, memory and event-loop metrics join the same registry (`pbj_process_*`, `pbj_nodejs_*`).
 * Returns the function that stops it.
 *
 * @example
 * const stop = instrumentEngine(engine)
 * const server = await createHealthServer({ health: engine.health, metrics: engine.metrics })
 */
export function instrumentEngine(
  engine: InstrumentedEngine,
  options: { processMetrics?: boolean } = {},
): () => void {
  const { events, store, health, metrics } = engine
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: metrics.registry, prefix: 'pbj_' })
  const blockReceivedAt = new Map<bigint, number>()
  /** Per device, the desired version published and not yet reported back. */
  const awaiting = new Map<string, { version: number; blockNumber: bigint; action: DeviceAction }>()
  const offs = [
    events.on('block', (b) => {
      metrics.observe('pbj_block_processing_seconds', Math.max(0, b.committedAt - b.receivedAt) / 1000)
      metrics.set('pbj_processed_block', Number(b.number))
      blockReceivedAt.set(b.number, b.receivedAt)
      if (blockReceivedAt.size > blocksRemembered) {
        const oldest = blockReceivedAt.keys().next()
        if (!oldest.done) blockReceivedAt.delete(oldest.value)
      }
    }),
    events.on('reorg', () => metrics.increment('pbj_reorgs_total')),
    events.on('reorg:deep', () => metrics.increment('pbj_deep_reorgs_total')),
    events.on('reconciled', (r) => metrics.increment('pbj_reconcile_passes_total', 1, { reason: r.reason })),
    events.on('device:desired', (d) => {
      const action = actionOf(d.state)
      metrics.increment('pbj_device_commands_published_total', 1, { action })
      // A correction publishes the same version again: its latency still runs from the first.
      const before = awaiting.get(d.deviceId)
      if (!before || before.version < d.version)
        awaiting.set(d.deviceId, { version: d.version, blockNumber: d.blockNumber, action })
    }),
    events.on('device:reported', (r) => {
      const sent = awaiting.get(r.deviceId)
      if (!sent || r.version < sent.version) return
      awaiting.delete(r.deviceId)
      metrics.increment('pbj_device_commands_acknowledged_total', 1, { action: sent.action })
      const receivedAt = blockReceivedAt.get(sent.blockNumber)
      if (receivedAt !== undefined)
        metrics.observe('pbj_block_to_ack_seconds', Math.max(0, r.receivedAt - receivedAt) / 1000, {
          action: sent.action,
        })
    }),
    events.on('device:corrected', (c) =>
      metrics.increment('pbj_device_corrections_total', 1, { reason: c.reason }),
    ),
    metrics.onCollect(async () => {
      const report = health.report()
      metrics.set('pbj_ready', report.ready ? 1 : 0)
      for (const [check, state] of Object.entries(report.checks))
        metrics.set('pbj_health_check', state.ok ? 1 : 0, { check })
      const payment = engine.payment?.status()
      if (payment) metrics.set('pbj_execution_balance_micros', Number(payment.available))
      const [drift, open, cursor] = await Promise.all([
        store.deviceDrift(),
        store.relayedTxs.list({ status: ['signed', 'pending'], limit: 100_000 }),
        store.getCursor(engine.chainId),
      ])
      metrics.set('pbj_devices_drifting', drift.devices)
      metrics.set(
        'pbj_device_drift_max_seconds',
        drift.oldestDesiredAt === null ? 0 : Math.max(0, Date.now() - drift.oldestDesiredAt) / 1000,
      )
      metrics.set('pbj_relayer_pending_txs', open.length)
      const head = cursor?.number ?? 0n
      metrics.set(
        'pbj_relayer_stuck_txs',
        open.filter(
          (tx) => tx.status === 'pending' && tx.sentBlock !== null && head - tx.sentBlock >= stuckBlocks,
        ).length,
      )
    }),
  ]
  return () => {
    for (const off of offs) off()
  }
}

/** `lock` for a locked state, `warn` for an immobilizer warning stage, else `unlock`. */
export function actionOf(state: DeviceDesired): DeviceAction {
  if (state.locked) return 'lock'
  const stage = state.immobilizer?.stage
  return stage === 'warning' || stage === 'final-warning' ? 'warn' : 'unlock'
}
