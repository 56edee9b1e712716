/**
 * What one /metrics scrape costs the engine: the samplers (device drift, relayer, health) and the text of
 * every metric, on a SQLite store with 10,000 devices of which 1,000 are behind their desired state.
 * Prints the median and worst of 50 scrapes in ms and the body's size.
 *
 * Run: node --import tsx bench/metrics/scrape.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EngineEvents } from '../../packages/pbj/src/core/engineEvents.js'
import { createEmitter } from '../../packages/pbj/src/internal/createEmitter.js'
import { createHealth } from '../../packages/pbj/src/internal/health.js'
import { createMetrics } from '../../packages/pbj/src/internal/metrics.js'
import { instrumentEngine } from '../../packages/pbj/src/ops/instrumentEngine.js'
import { createSqliteStore } from '../../packages/pbj/src/store/sqlite/createSqliteStore.js'

const dir = mkdtempSync(join(tmpdir(), 'pbj-scrape-'))
const store = createSqliteStore({ path: join(dir, 'pbj.db') })
for (let i = 0; i < 10_000; i++) {
  const id = `0x${i.toString(16).padStart(40, '0')}`
  await store.setDesired(id, { locked: i % 2 === 0 }, `c${i}`, Date.now() - i)
  if (i % 10 !== 0) await store.recordReported(id, { locked: i % 2 === 0 }, 1, Date.now())
}
const metrics = createMetrics()
const health = createHealth()
for (const check of ['chain', 'store', 'broker', 'lag']) health.set(check, true)
for (let i = 0; i < 100_000; i++)
  metrics.increment('pbj_runs_total', 1, { function: `f${i % 20}`, status: i % 7 ? 'ok' : 'failed' })
const stop = instrumentEngine({
  chainId: 31337,
  events: createEmitter<EngineEvents>(),
  store,
  health,
  metrics,
  relayer: null,
  payment: null,
})
const times: number[] = []
let size = 0
for (let i = 0; i < 50; i++) {
  const t0 = performance.now()
  const { body } = await metrics.scrape()
  times.push(performance.now() - t0)
  size = body.length
}
times.sort((a, b) => a - b)
console.log(
  JSON.stringify({
    devices: 10_000,
    drifting: (await store.deviceDrift()).devices,
    scrapeMsMedian: Math.round((times[25] as number) * 100) / 100,
    scrapeMsMax: Math.round((times.at(-1) as number) * 100) / 100,
    bodyBytes: size,
  }),
)
stop()
await store.close()
rmSync(dir, { recursive: true, force: true })
