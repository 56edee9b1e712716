import { describe, expect, it } from 'vitest'
import type { EngineEvents } from '../core/engineEvents.js'
import { createEmitter } from '../internal/createEmitter.js'
import { createHealth } from '../internal/health.js'
import { createMetrics } from '../internal/metrics.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { actionOf, instrumentEngine } from './instrumentEngine.js'

/** An engine's parts instrumentEngine reads: its emitter, a real (in-memory) store, health and metrics. */
function setup() {
  const events = createEmitter<EngineEvents>()
  const store = createSqliteStore({ path: ':memory:' })
  const health = createHealth()
  const metrics = createMetrics()
  const stop = instrumentEngine(
    { chainId: 31337, events, store, health, metrics, relayer: null, payment: null },
    { processMetrics: false },
  )
  return { events, store, health, metrics, stop }
}

const block = (number: bigint, receivedAt: number) => ({
  number,
  hash: `0x${number.toString(16).padStart(64, '0')}`,
  timestamp: 1_000n + number,
  jobs: 1,
  receivedAt,
  committedAt: receivedAt + 4,
})

describe('instrumentEngine', () => {
  it('counts reconciliation passes by reason and deep reorgs', () => {
    const { events, metrics, stop } = setup()
    const pass = { devices: 3, corrected: 1, refused: 0, failed: 0, atBlock: 9n }
    events.emit('reconciled', { ...pass, reason: 'periodic' })
    events.emit('reconciled', { ...pass, reason: 'periodic' })
    events.emit('reorg:deep', { from: 1n, to: 300n, resumedAt: 50n })
    events.emit('reconciled', { ...pass, reason: 'deepReorg' })
    expect(metrics.snapshot().counters).toMatchObject({
      'pbj_reconcile_passes_total{reason="periodic"}': 2,
      'pbj_reconcile_passes_total{reason="deepReorg"}': 1,
      pbj_deep_reorgs_total: 1,
    })
    stop()
  })

  it('measures block → acknowledgement by action from the first publish of a version to its report', async () => {
    const { events, metrics, stop } = setup()
    events.emit('block', block(7n, 1_000))
    const lock = { locked: true, immobilizer: { stage: 'disable' as const } }
    const desired = { deviceId: '0xcar', version: 3, commandId: 'c3', state: lock, blockNumber: 7n }
    events.emit('device:desired', { ...desired, publishedAt: 1_010 })
    // A correction publishes version 3 again: the latency still runs from the block.
    events.emit('device:desired', { ...desired, publishedAt: 1_500 })
    // A report behind the desired version (a refusal) is no acknowledgement.
    events.emit('device:reported', {
      deviceId: '0xcar',
      version: 2,
      state: { locked: false },
      receivedAt: 1_600,
    })
    expect(metrics.snapshot().histograms['pbj_block_to_ack_seconds{action="lock"}']).toBeUndefined()
    events.emit('device:reported', {
      deviceId: '0xcar',
      version: 3,
      state: { locked: true },
      receivedAt: 1_750,
    })
    const snapshot = metrics.snapshot()
    expect(snapshot.histograms['pbj_block_to_ack_seconds{action="lock"}']).toEqual({ count: 1, sum: 0.75 })
    expect(snapshot.histograms.pbj_block_processing_seconds).toEqual({ count: 1, sum: 0.004 })
    expect(snapshot.counters).toMatchObject({
      'pbj_device_commands_published_total{action="lock"}': 2,
      'pbj_device_commands_acknowledged_total{action="lock"}': 1,
    })
    // Reported once more (a retained report on reconnect): counted once only.
    events.emit('device:reported', {
      deviceId: '0xcar',
      version: 3,
      state: { locked: true },
      receivedAt: 1_900,
    })
    expect(metrics.snapshot().counters['pbj_device_commands_acknowledged_total{action="lock"}']).toBe(1)
    stop()
  })

  it('counts corrections by reason and reorgs, and samples drift and health at each scrape', async () => {
    const { events, store, health, metrics, stop } = setup()
    events.emit('device:corrected', {
      deviceId: '0xcar',
      desiredVersion: 2,
      reportedVersion: 1,
      reason: 'report',
      attempt: 1,
    })
    events.emit('reorg', { ancestor: 5n, orphaned: 1, compensations: 0 })
    await store.setDesired('0xcar', { locked: true }, 'c1', Date.now() - 30_000)
    health.set('chain', true)
    health.set('broker', false, 'disconnected')
    const { body } = await metrics.scrape()
    expect(body).toMatch(/^pbj_device_corrections_total\{reason="report"\} 1$/m)
    expect(body).toMatch(/^pbj_reorgs_total 1$/m)
    expect(body).toMatch(/^pbj_devices_drifting 1$/m)
    const drift = Number(/^pbj_device_drift_max_seconds ([\d.]+)$/m.exec(body)?.[1])
    expect(drift).toBeGreaterThanOrEqual(30)
    expect(drift).toBeLessThan(60)
    expect(body).toMatch(/^pbj_ready 0$/m)
    expect(body).toMatch(/^pbj_health_check\{check="chain"\} 1$/m)
    expect(body).toMatch(/^pbj_health_check\{check="broker"\} 0$/m)
    // No payment: no balance line at all rather than a 0 that reads as an empty balance.
    expect(body).not.toMatch(/^pbj_execution_balance_micros /m)
    await store.recordReported('0xcar', { locked: true }, 1, Date.now())
    expect((await metrics.scrape()).body).toMatch(/^pbj_devices_drifting 0$/m)
    stop()
    await store.close()
  })
})

describe('actionOf', () => {
  it('labels a device command lock, warn or unlock', () => {
    expect(actionOf({ locked: true, immobilizer: { stage: 'disable' } })).toBe('lock')
    expect(actionOf({ locked: false, immobilizer: { stage: 'warning' } })).toBe('warn')
    expect(actionOf({ locked: false, immobilizer: { stage: 'final-warning' } })).toBe('warn')
    expect(actionOf({ locked: false, immobilizer: { stage: 'none' } })).toBe('unlock')
    expect(actionOf({ locked: false })).toBe('unlock')
  })
})
