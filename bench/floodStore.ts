// node --no-node-snapshot --import tsx bench/floodStore.ts [--devices 1000] [--rounds 5]
//
// The store's side of a fleet's commands: for `devices` devices, what setDesired, markPublished,
// recordReported and getDevice cost in CPU per call when a whole block's worth arrives at once (as the outbox and the
// report listener call them: all started in one tick, each awaited by its own caller).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const count = Number(arg('devices', '1000'))
const rounds = Number(arg('rounds', '5'))
const dir = mkdtempSync(join(tmpdir(), 'pbj-floodstore-'))
const store = createSqliteStore({ path: join(dir, 'pbj.db') })
const ids = Array.from({ length: count }, (_, i) => `0x${i.toString(16).padStart(40, '0')}`)

const measure = async (name: string, call: (id: string) => Promise<unknown>) => {
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(ids.map(call))
  const used = process.cpuUsage(cpu)
  return `${name} ${((used.user + used.system) / count).toFixed(1)} µs CPU (${(performance.now() - started).toFixed(0)} ms)`
}
for (let round = 1; round <= rounds; round++) {
  const state = { locked: round % 2 === 1 }
  const figures = [
    await measure('setDesired', (id) =>
      store.setDesired(id, state, `c${round}:${id}`, Date.now(), BigInt(round)),
    ),
    await measure('markPublished', (id) => store.markPublished(id, round, Date.now())),
    await measure('recordReported', (id) => store.recordReported(id, state, round, Date.now())),
    await measure('getDevice', (id) => store.getDevice(id)),
  ]
  console.log(`round ${round}: ${figures.join(', ')} per call`)
}
// One car's command alone (nothing else to share a commit with): the wall time a caller waits per call.
const single = async (name: string, call: (i: number) => Promise<unknown>) => {
  const started = performance.now()
  for (let i = 0; i < 200; i++) await call(i)
  return `${name} ${(((performance.now() - started) / 200) * 1000).toFixed(0)} µs`
}
const lone = ids[0] as string
console.log(
  `one at a time: ${[
    await single('setDesired', (i) =>
      store.setDesired(lone, { locked: i % 2 === 0 }, `lone:${i}`, Date.now(), 1n),
    ),
    await single('markPublished', (i) => store.markPublished(lone, 10_000 + i, Date.now())),
    await single('recordReported', (i) =>
      store.recordReported(lone, { locked: true }, 10_000 + i, Date.now()),
    ),
  ].join(', ')} per call`,
)
await store.close()
rmSync(dir, { recursive: true, force: true })
