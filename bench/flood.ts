// `npm run bench:flood` (node --no-node-snapshot --import tsx bench/flood.ts [--samples 15] [--sizes 2000,10000])
//
// A car is not slowed by junk. One real car (its own process, reading a DeviceRegistry on a real Anvil
// through the embedded broker) gets genuine locks and unlocks from its operator, and floods of validly
// signed commands from random keys with a chainTime in the future (each would make a car without limits
// read the registry). Measured: a genuine lock's latency, publish → the car's signed report of it,
// unflooded (p50 of the samples) and with the lock published while a flood of 2,000 and of 10,000 is
// under way (published once the broker acknowledged half the flood, from the attacker's own connection).
// Target: flooded ≤ 2 × unflooded. Ends with one JSON line.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { encode, LOCK_MESSAGE, parseReported, topics } from '@pbj/device'
import { connectAsync } from 'mqtt'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { signFlood } from '../test/helpers/signFlood.js'
import { startRegistry } from '../test/helpers/startRegistry.js'
import { log, summarize } from './lib/stats.js'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const samples = Number(arg('samples', '15'))
const sizes = arg('sizes', '2000,10000').split(',').map(Number)
/** Floods per size and mode: the figure is their median (one flood is one noisy sample). */
const repeats = Number(arg('repeats', '5'))
const startedAt = performance.now()

const registry = await startRegistry()
const broker = await startEmbeddedBroker()
const topicPrefix = `pbjflood-${randomBytes(4).toString('hex')}`
const device = await registry.newDevice()
const names = topics(topicPrefix)

const child = fork(
  fileURLToPath(new URL('./flood/floodCar.ts', import.meta.url)),
  [
    JSON.stringify({
      brokerUrl: broker.url,
      topicPrefix,
      deviceKey: device.deviceKey,
      rpcUrl: registry.chain.rpcUrl,
      chainId: registry.chain.chainId,
      registry: registry.registry,
    }),
  ],
  { execArgv: ['--no-node-snapshot', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
)
await new Promise<void>((resolve, reject) => {
  child.once('message', () => resolve())
  child.once('exit', (code) => reject(new Error(`the car's process exited (${code}) before it was ready`)))
})
const carOutcomes = () =>
  new Promise<Record<string, number>>((resolve) => {
    child.once('message', (m: { outcomes: Record<string, number> }) => resolve(m.outcomes))
    child.send({ type: 'count' })
  })

// The engine's connection (genuine commands, the car's reports), and two attackers: a device logged in with
// its own key (what anyone can be on the embedded broker: its ACL drops the flood), and one holding the
// engine's login (a leaked login, or a broker without pbj's ACL: only the car's own checks stand).
const engine = await connectAsync(broker.url, { ...broker.engineLogin, clientId: 'bench-engine' })
const open = await connectAsync(broker.url, { ...broker.engineLogin, clientId: 'bench-attacker' })
const deviceAttacker = fork(
  fileURLToPath(new URL('./flood/floodAttacker.ts', import.meta.url)),
  [
    JSON.stringify({
      brokerUrl: broker.url,
      topic: names.desired(device.deviceId),
      deviceId: device.deviceId,
      domain: registry.domain,
    }),
  ],
  { execArgv: ['--no-node-snapshot', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
)
await new Promise<void>((resolve) => deviceAttacker.once('message', () => resolve()))
const nextMessage = (type: string) =>
  new Promise<void>((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return
      deviceAttacker.off('message', on)
      resolve()
    }
    deviceAttacker.on('message', on)
  })
const modes = arg('modes', 'acl,open').split(',') as ('acl' | 'open')[]
// Nagle would hold a command behind the previous PUBACK for ~40 ms: the engine's connection sends at once.
;(engine.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
const waiters = new Map<number, () => void>()
engine.on('message', (_topic, payload) => {
  const report = parseReported(payload)
  if (report.ok && report.value.error === undefined) waiters.get(report.value.version)?.()
})
await engine.subscribeAsync(names.reported(device.deviceId), { qos: 1 })

let version = 0
/** Publishes the operator's next command and resolves with ms from publish to the car's report of it. */
const genuine = async (locked: boolean): Promise<number> => {
  const v = ++version
  const payload = encode(
    registry.sign({
      deviceId: device.deviceId,
      version: v,
      commandId: `genuine-${v}`,
      state: locked ? { locked, reason: 'missed-payment', message: LOCK_MESSAGE } : { locked },
      chainTime: await registry.chainTime(),
    }),
  )
  const reported = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no report of version ${v} within 120 s`)), 120_000)
    waiters.set(v, () => {
      clearTimeout(timer)
      waiters.delete(v)
      resolve(performance.now())
    })
  })
  const sentAt = performance.now()
  await engine.publishAsync(names.desired(device.deviceId), payload, { qos: 1 })
  return (await reported) - sentAt
}

// Warm-up (the car meets its operator), then unflooded samples, lock and unlock alternately.
await genuine(false)
await genuine(true)
const unflooded: number[] = []
for (let i = 0; i < samples; i++) {
  unflooded.push(await genuine(true))
  await genuine(false)
}
const unfloodedP50 = summarize(unflooded).p50
log(`unflooded: lock p50 ${unfloodedP50} ms over ${unflooded.length} samples`)

type Flooded = { ms: number; samples: number[]; outcomes: Record<string, number>; drainedMs: number | null }
const flooded: Record<string, Record<number, Flooded>> = {}
const total = (o: Record<string, number>) => Object.values(o).reduce((sum, n) => sum + n, 0)
for (const mode of modes) {
  flooded[mode] = {}
  for (const size of sizes) {
    const samples: number[] = []
    let last: Omit<Flooded, 'ms' | 'samples'> = { outcomes: {}, drainedMs: null }
    for (let repeat = 0; repeat < repeats; repeat++) {
      log(`${mode}: a flood of ${size.toLocaleString('en-US')} commands signed by random keys…`)
      const version =
        1_000_000 * ((modes.indexOf(mode) * sizes.length + sizes.indexOf(size)) * repeats + repeat + 1)
      const flood =
        mode === 'open'
          ? signFlood({ domain: registry.domain, deviceId: device.deviceId, count: size, version })
          : []
      const before = await carOutcomes()
      const floodStart = performance.now()
      let ms: number
      if (mode === 'open') {
        // QoS 1: the genuine lock goes out once the broker acknowledged half the flood (it is queued for the car).
        let acked = 0
        let resolveHalf = () => {}
        const half = new Promise<void>((resolve) => {
          resolveHalf = resolve
        })
        const sent = flood.map((payload) =>
          open.publishAsync(names.desired(device.deviceId), payload, { qos: 1 }).then(() => {
            if (++acked === Math.floor(size / 2)) resolveHalf()
          }),
        )
        await half
        ms = await genuine(true)
        await Promise.all(sent)
      } else {
        // From the attacker's own process, logged in as a device: the genuine lock goes out once half the
        // flood is written to the broker.
        const half = nextMessage('half')
        const done = nextMessage('done')
        deviceAttacker.send({ type: 'flood', size, version })
        await half
        const lock = genuine(true)
        await done
        ms = await lock
      }
      let after = await carOutcomes()
      let drainedMs: number | null = null
      if (mode === 'open') {
        // Until the car has decided every flood message: how long the junk kept it busy at all.
        while (total(after) - total(before) < size + 1) {
          await new Promise((resolve) => setTimeout(resolve, 50))
          after = await carOutcomes()
        }
        drainedMs = Math.round(performance.now() - floodStart)
      } else {
        await new Promise((resolve) => setTimeout(resolve, 500))
        after = await carOutcomes()
      }
      const outcomes = Object.fromEntries(
        Object.entries(after)
          .map(([code, n]) => [code, n - (before[code] ?? 0)])
          .filter(([, n]) => (n as number) > 0),
      )
      samples.push(Math.round(ms * 100) / 100)
      last = { outcomes, drainedMs }
      log(
        `${mode}: flood of ${size}: lock after ${Math.round(ms * 100) / 100} ms; what the car saw of it: ${JSON.stringify(outcomes)}`,
      )
      await genuine(false)
    }
    flooded[mode][size] = { ms: summarize(samples).p50, samples, ...last }
  }
}

await engine.publishAsync(names.desired(device.deviceId), '', { qos: 1, retain: true })
await engine.publishAsync(names.reported(device.deviceId), '', { qos: 1, retain: true })
if (child.connected) child.disconnect()
await new Promise((resolve) => child.once('exit', resolve))
await open.endAsync()
if (deviceAttacker.connected) deviceAttacker.disconnect()
await engine.endAsync()
await broker.close()
await registry.stop()

const label = { acl: 'embedded broker, attacker a logged-in device', open: 'attacker holds the engine login' }
log('')
log('  genuine lock, publish → car report                         ms')
log(`  unflooded (p50 of ${unflooded.length})`.padEnd(60) + String(unfloodedP50).padStart(8))
for (const mode of modes) {
  for (const size of sizes) {
    const row = flooded[mode]?.[size]
    log(
      `  ${label[mode]}, flood of ${size.toLocaleString('en-US')}`.padEnd(60) +
        String(row?.ms).padStart(8) +
        `   (${((row?.ms ?? 0) / unfloodedP50).toFixed(2)}×)`,
    )
  }
}
const last = sizes[sizes.length - 1] ?? 0
const summary: Record<string, unknown> = { unfloodedP50Ms: unfloodedP50 }
for (const mode of modes) {
  const figures: Record<string, unknown> = {}
  for (const size of sizes) figures[`flood${size}Ms`] = flooded[mode]?.[size]?.ms
  figures[`ratio${last}`] = Math.round(((flooded[mode]?.[last]?.ms ?? Number.NaN) / unfloodedP50) * 100) / 100
  summary[mode] = figures
}
summary.floods = flooded
summary.seconds = Math.round((performance.now() - startedAt) / 100) / 10
process.stdout.write(`${JSON.stringify(summary)}\n`)
