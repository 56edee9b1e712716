// node --no-node-snapshot --import tsx bench/commandPath.ts [--devices 1000] [--runs 7] [--warmups 3]
//
// The engine's side of a fleet's commands after the guard, without a chain: 1,000 runs decide a command in
// the same turn (as a block's guard reads all answer in one multicall), and each does what commandDevice
// does next — reads the device, stores the desired state, dispatches it — then the real dispatcher signs
// and publishes to the embedded broker (QoS 1, in this process, as in `pbj dev`). Measured per round: CPU
// of the whole process (store, outbox, signing, both sides of the broker) from the first command to the
// last PUBACK, per command, and the wall time; the store's file is on disk in WAL mode, as the engine's.
// The figure the fleet benchmark's lock window cannot isolate on a shared machine: CPU is less noisy than
// wall time. PBJ_BENCH_PROFILE=<dir> writes the last run's CPU profile there. Ends with one JSON line.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOCK_MESSAGE, pbjDomain } from '@pbj/device'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { createMqttBroker } from '#pbj/actions/broker/createMqttBroker.js'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { createDeviceDispatcher } from '#pbj/actions/devices/createDeviceDispatcher.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { createEmitter } from '#pbj/internal/createEmitter.js'
import { createLogger } from '#pbj/internal/logger.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { profileWindow } from './lib/profileWindow.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const devices = arg('devices', 1_000)
const runs = arg('runs', 7)
const warmups = arg('warmups', 3)
const log = (line: string) => process.stderr.write(`${line}\n`)
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? 0

const domain = pbjDomain({ chainId: 31_337, registry: privateKeyToAddress(generatePrivateKey()) })
const broker = await startEmbeddedBroker()
const connection = await createMqttBroker({ url: broker.url, topicPrefix: 'pbjpath', logger: createLogger() })
const signer = createCommandSigner({ operatorKey: generatePrivateKey(), domain })
const dir = mkdtempSync(join(tmpdir(), 'pbj-commandpath-'))
const store = createSqliteStore({ path: join(dir, 'pbj.db') })
const events = createEmitter<EngineEvents>()
const dispatcher = createDeviceDispatcher({ store, broker: connection, events, signer, chainTime: () => 1 })
await dispatcher.start()
const ids = Array.from({ length: devices }, () => privateKeyToAddress(generatePrivateKey()).toLowerCase())

const results: { cpuUs: number; wallMs: number }[] = []
for (let run = 0; run < warmups + runs; run++) {
  const state = run % 2 === 0 ? { locked: true, message: LOCK_MESSAGE } : { locked: false }
  let published = 0
  const all = new Promise<void>((resolve) => {
    const off = events.on('device:desired', () => {
      if (++published === devices) {
        off()
        resolve()
      }
    })
  })
  const cpu = process.cpuUsage()
  const startedAt = performance.now()
  const round = async () => {
    await Promise.all(
      ids.map(async (id) => {
        await store.getDevice(id) // the guard's `current`
        await store.setDesired(id, state, `${id}:${run}`, Date.now(), BigInt(run + 1))
        dispatcher.dispatch(id)
      }),
    )
    await all
  }
  // PBJ_BENCH_PROFILE=<dir>: the last run's CPU profile, nothing of the set-up in it.
  await (run === warmups + runs - 1 ? profileWindow('command-path', round) : round())
  const wallMs = performance.now() - startedAt
  const used = process.cpuUsage(cpu)
  const cpuUs = (used.user + used.system) / devices
  if (run >= warmups) results.push({ cpuUs, wallMs })
  log(
    `run ${run}: ${devices} commands stored, signed and acknowledged by the broker: ${cpuUs.toFixed(0)} µs CPU per command, ${wallMs.toFixed(0)} ms${run < warmups ? ' (warm-up)' : ''}`,
  )
}
await dispatcher.close()
await connection.close()
await broker.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
const summary = {
  devices,
  runs: results.length,
  cpuPerCommandUs: Math.round(median(results.map((r) => r.cpuUs))),
  wallMs: Math.round(median(results.map((r) => r.wallMs))),
}
log(`median: ${summary.cpuPerCommandUs} µs CPU per command, all at the broker after ${summary.wallMs} ms`)
console.log(JSON.stringify(summary))
