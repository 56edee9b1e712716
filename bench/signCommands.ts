// `npm run bench:sign` (node --no-node-snapshot --import tsx bench/signCommands.ts [--devices 1000]
// [--runs 7] [--warmups 3])
//
// Engine side: 1,000 cars fall delinquent in one block. Their desired states are in the store; the real
// dispatcher signs them as one batch (Merkle tree + one EIP-712 signature) and publishes each to the
// embedded broker with QoS 1. Measured: the signing, and dispatch → the last PUBACK (target ≤ 100 ms),
// median of the runs after the warm-up ones. Device side: what one car spends verifying one message of such
// a batch (proof + signature: recovering the signer's key the first time, with the operator's key known
// after), and the whole gate with a cached registry answer. Engine side again: verifying 1,000 signed
// reports, in the event loop and in the worker thread. Ends with one JSON line.
import { randomBytes } from 'node:crypto'
import {
  addressOf,
  createCommandGate,
  createTypedHashes,
  encode,
  LOCK_MESSAGE,
  prepareSignerKey,
  type ReportedMessage,
  type SignerKey,
  signDigest,
  verifyDesired,
} from '@pbj/device'
import { generatePrivateKey } from 'viem/accounts'
import { createMqttBroker } from '#pbj/actions/broker/createMqttBroker.js'
import { createReportVerifier } from '#pbj/actions/broker/createReportVerifier.js'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { createDeviceDispatcher } from '#pbj/actions/devices/createDeviceDispatcher.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { createEmitter } from '#pbj/internal/createEmitter.js'
import { createLogger } from '#pbj/internal/logger.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { startRegistry } from '../test/helpers/startRegistry.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const devices = arg('devices', 1_000)
const runs = arg('runs', 7)
// The first batches also compile the code paths (JIT) and size the heap: an engine that has run a while
// does neither when a block makes a thousand cars delinquent. They are reported apart.
const warmups = arg('warmups', 3)
const log = (line: string) => process.stderr.write(`${line}\n`)
const round = (ms: number) => Math.round(ms * 100) / 100
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? 0

const registry = await startRegistry()
const broker = await startEmbeddedBroker()
const prefix = `pbjbench-${randomBytes(4).toString('hex')}`
const connection = await createMqttBroker({ url: broker.url, topicPrefix: prefix, logger: createLogger() })
const signer = createCommandSigner({ operatorKey: registry.operator.privateKey, domain: registry.domain })
const lock = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }
const ids = Array.from({ length: devices }, () => `0x${randomBytes(20).toString('hex')}`)

// --- engine: sign + publish ------------------------------------------------------------------------------
type Run = { signMs: number; batches: number; totalMs: number; published: number }
const results: Run[] = []
let coldMs = 0
for (let run = 0; run < warmups + runs; run++) {
  const store = createSqliteStore({ path: ':memory:' })
  const events = createEmitter<EngineEvents>()
  let published = 0
  events.on('device:desired', () => published++)
  let signMs = 0
  let batches = 0
  const timed = {
    sign: (...args: Parameters<typeof signer.sign>) => {
      const startedAt = performance.now()
      const messages = signer.sign(...args)
      signMs += performance.now() - startedAt
      batches++
      return messages
    },
  }
  const dispatcher = createDeviceDispatcher({
    store,
    broker: connection,
    events,
    signer: timed,
    chainTime: () => 1_800_000_000,
  })
  // What the lock runs of one block leave behind: 1,000 desired states, durable, not yet published.
  for (const id of ids) await store.setDesired(id, lock, `${id}:run${run}`, Date.now(), BigInt(run + 1))
  const startedAt = performance.now()
  for (const id of ids) dispatcher.dispatch(id)
  await dispatcher.settled()
  const totalMs = performance.now() - startedAt
  await dispatcher.close()
  await store.close()
  if (run === 0) coldMs = totalMs
  if (run >= warmups) results.push({ signMs, batches, totalMs, published })
  log(
    `run ${run}: ${published} commands, ${batches} batch(es), signed in ${round(signMs)} ms, all PUBACKs after ${round(totalMs)} ms${run < warmups ? ' (warm-up)' : ''}`,
  )
}

// --- device: verify one message of a 1,000-command batch -----------------------------------------------
const car = await registry.newDevice()
const hashes = createTypedHashes(registry.domain)
const batch = signer.sign(
  ids.map((id, i) => ({
    deviceId: i === 0 ? car.deviceId : id,
    version: 7,
    commandId: `c-${i}`,
    state: lock,
    chainTime: 0,
  })),
)
const mine = batch[0]
if (!mine) throw new Error('no message for the car')
const samples = 300
const verifyAll = (keys?: Map<string, SignerKey>) => {
  const at = performance.now()
  for (let i = 0; i < samples; i++) {
    const verdict = verifyDesired(mine, {
      deviceId: car.deviceId,
      hashes,
      now: Date.now(),
      ...(keys ? { keys } : {}),
    })
    if (!verdict.ok) throw new Error(`a valid message was refused: ${verdict.reason}`)
  }
  return (performance.now() - at) / samples
}
// A car's first command from an operator: the key is recovered from the signature.
const recoverMs = verifyAll()
// Later ones: the operator's key is known and prepared.
const first = verifyDesired(mine, { deviceId: car.deviceId, hashes, now: Date.now() })
if (!first.ok || !first.publicKey) throw new Error('the batch message did not verify')
const verifyMs = verifyAll(new Map([[first.signer, prepareSignerKey(first.publicKey)]]))
const gate = createCommandGate({ deviceId: car.deviceId, hashes, chain: registry.chain })
const payload = encode(mine)
await gate.check(payload, { version: 0, commandIds: [] }) // the one registry read, then cached
await new Promise((resolve) => setImmediate(resolve)) // the operator's key is prepared after its first command
let startedAt = performance.now()
for (let i = 0; i < samples; i++) {
  const verdict = await gate.check(payload, { version: 0, commandIds: [] })
  if (!verdict.ok) throw new Error(`a valid message was refused: ${verdict.reason}`)
}
const gateMs = (performance.now() - startedAt) / samples
await gate.close()
log(
  `car: verify one message of a ${devices}-command batch (proof of ${mine.auth.proof.length}): ${round(recoverMs)} ms recovering the signer's key, ${round(verifyMs)} ms with the operator's key known; parse + verify + cached registry answer ${round(gateMs)} ms`,
)

// --- engine: verify 1,000 signed reports --------------------------------------------------------------
const reports: ReportedMessage[] = Array.from({ length: devices }, (_, i) => {
  const key = generatePrivateKey()
  const unsigned = {
    type: 'reported' as const,
    deviceId: addressOf(key),
    version: 1,
    commandId: `c-${i}`,
    state: { locked: true, message: LOCK_MESSAGE },
    appliedAt: Date.now(),
  }
  return { ...unsigned, signature: signDigest(hashes.reportDigest(unsigned), key) }
})
const reportTimes: Record<string, number> = {}
for (const inline of [true, false]) {
  const verifier = createReportVerifier({ domain: registry.domain, inline })
  await verifier.verify(reports[0] as ReportedMessage) // starts the worker
  // The engine's event loop: the longest it is held (the longest gap between ticks of a 1 ms timer) while
  // the reports are verified.
  let loopHeldMs = 0
  let lastTick = performance.now()
  const ticker = setInterval(() => {
    const now = performance.now()
    loopHeldMs = Math.max(loopHeldMs, now - lastTick)
    lastTick = now
  }, 1)
  startedAt = performance.now()
  const verdicts = await Promise.all(reports.map((report) => verifier.verify(report)))
  const ms = performance.now() - startedAt
  // One more tick, so that a hold lasting until now is counted.
  await new Promise((resolve) => setTimeout(resolve, 5))
  clearInterval(ticker)
  if (verdicts.some((v) => v !== null)) throw new Error('a genuine report was refused')
  reportTimes[inline ? 'inline' : 'worker'] = ms
  reportTimes[inline ? 'inlineLoopHeldMs' : 'workerLoopHeldMs'] = loopHeldMs
  log(
    `engine: ${devices} reports verified ${inline ? 'in the event loop' : 'in a worker thread'} in ${round(ms)} ms (event loop held up to ${round(loopHeldMs)} ms)`,
  )
  await verifier.close()
}

await connection.close()
await broker.close()
await registry.stop()

const summary = {
  devices,
  runs: results.length,
  batches: median(results.map((r) => r.batches)),
  signMs: round(median(results.map((r) => r.signMs))),
  signToAllPubacksMs: round(median(results.map((r) => r.totalMs))),
  bestMs: round(Math.min(...results.map((r) => r.totalMs))),
  coldFirstRunMs: round(coldMs),
  withinTarget: median(results.map((r) => r.totalMs)) <= 100,
  deviceVerifyMsPerMessage: round(verifyMs),
  deviceFirstVerifyMs: round(recoverMs),
  deviceGateMsPerMessage: round(gateMs),
  engineReportVerifyMs: { inline: round(reportTimes.inline ?? 0), worker: round(reportTimes.worker ?? 0) },
  engineLoopHeldMs: {
    inline: round(reportTimes.inlineLoopHeldMs ?? 0),
    worker: round(reportTimes.workerLoopHeldMs ?? 0),
  },
}
process.stdout.write(`${JSON.stringify(summary)}\n`)
process.exitCode = results.every((r) => r.published === devices) ? 0 : 1
