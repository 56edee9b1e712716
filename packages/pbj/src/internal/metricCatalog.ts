/** How one metric is exposed: its Prometheus type, its help text, its label names, a histogram's buckets. */
export type MetricSpec = {
  type: 'counter' | 'gauge' | 'histogram'
  help: string
  labels?: readonly string[]
  buckets?: readonly number[]
}

/**
 * Buckets of the latency histograms, in seconds: 1 ms to 30 s. A lock reaches the car in milliseconds on a
 * healthy stack and in seconds through an outage; the upper buckets show the outage, the lower ones the
 * steady state.
 */
export const latencyBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const

/**
 * Every metric pbj exposes on `/metrics`, in one place so the names, labels and meanings an operator
 * dashboards on cannot drift between the code and docs/operations.md (the test of the health server
 * checks each one is documented). A name not listed here still works (created on first use, unlabelled
 * unless labels are given), so a stage can count something new before it is catalogued.
 */
export const metricCatalog = {
  pbj_head_block: { type: 'gauge', help: 'Highest block number the node has shown pbj (its head).' },
  pbj_processed_block: {
    type: 'gauge',
    help: 'Block number of the last block pbj processed and committed (its cursor).',
  },
  pbj_lag_blocks: { type: 'gauge', help: 'Blocks between the node’s head and the last processed block.' },
  pbj_lag_seconds: {
    type: 'gauge',
    help: 'Chain time (seconds) between the node’s head block and the last processed block.',
  },
  pbj_block_processing_seconds: {
    type: 'histogram',
    help: 'Time from receiving a block to committing its jobs, timers and cursor.',
    buckets: latencyBuckets,
  },
  pbj_runs_total: {
    type: 'counter',
    help: 'Function runs finished, by function and status (ok or failed).',
    labels: ['function', 'status'],
  },
  pbj_run_duration_seconds: {
    type: 'histogram',
    help: 'How long a run took in the sandbox, by function.',
    labels: ['function'],
    buckets: latencyBuckets,
  },
  pbj_queue_depth: { type: 'gauge', help: 'Jobs queued or running in the engine’s queue.' },
  pbj_job_retries_total: {
    type: 'counter',
    help: 'Failed runs whose job was scheduled to run again (retry policy), by function.',
    labels: ['function'],
  },
  pbj_dead_letters_total: {
    type: 'counter',
    help: 'Jobs dead-lettered (retries exhausted; `pbj runs retry` re-queues them), by function.',
    labels: ['function'],
  },
  pbj_device_commands_published_total: {
    type: 'counter',
    help: 'Desired device states the broker acknowledged (PUBACK), by action (lock, unlock, warn).',
    labels: ['action'],
  },
  pbj_device_commands_acknowledged_total: {
    type: 'counter',
    help: 'Desired device states the device reported back as applied, by action.',
    labels: ['action'],
  },
  pbj_block_to_ack_seconds: {
    type: 'histogram',
    help: 'From pbj receiving the block whose run set a device state to the device reporting it, by action.',
    labels: ['action'],
    buckets: latencyBuckets,
  },
  pbj_devices_drifting: {
    type: 'gauge',
    help: 'Devices whose reported state is behind their desired state (desired version not reported yet).',
  },
  pbj_device_drift_max_seconds: {
    type: 'gauge',
    help: 'How long the longest-drifting device has been behind its desired state (0 when none is).',
  },
  pbj_device_corrections_total: {
    type: 'counter',
    help: 'Desired states sent again to a device found behind them, by reason (report, reconcile, chain).',
    labels: ['reason'],
  },
  pbj_reorgs_total: { type: 'counter', help: 'Chain reorganisations pbj rolled back.' },
  pbj_deep_reorgs_total: {
    type: 'counter',
    help: 'Reorganisations deeper than the reorg window: pbj resumed from the new chain and reconciled.',
  },
  pbj_reconcile_passes_total: {
    type: 'counter',
    help: 'Chain-level reconciliation passes, by what asked for them (scheduled ones re-check only the devices due).',
    labels: ['reason'],
  },
  pbj_relayer_pending_txs: {
    type: 'gauge',
    help: 'Relayed transactions (ctx.chain.write, settlements) sent and not yet mined.',
  },
  pbj_relayer_stuck_txs: {
    type: 'gauge',
    help: 'Relayed transactions a node accepted but not mined 3 or more blocks later (the relayer bumps their fees).',
  },
  pbj_execution_balance_micros: {
    type: 'gauge',
    help: 'The project’s prepaid execution balance net of unsettled usage (tUSD micros); absent without payment.',
  },
  pbj_ready: { type: 'gauge', help: '1 when every health check is ok (/readyz answers 200), else 0.' },
  pbj_health_check: {
    type: 'gauge',
    help: 'Each health check: 1 ok, 0 failing (chain, store, broker, lag, follower).',
    labels: ['check'],
  },
} as const satisfies Record<string, MetricSpec>

/** A catalogued metric's name. */
export type MetricName = keyof typeof metricCatalog
