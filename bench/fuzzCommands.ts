// `npm run fuzz:commands [-- --count 10000] [-- --mosquitto]`
//
// Someone with broker access but not the operator key throws 10,000 randomized commands at a real car (a
// device agent on a real broker, verifying against a DeviceRegistry on a real Anvil): forged and mangled
// signatures, every field of genuine commands mutated, other signers, commands for other cars, replays,
// stale versions, expired and not-yet-valid commands, junk. Each genuine base command carries a version
// above the car's, so anything the car failed to catch would be applied. `accepted` is counted from the
// car's own applied log; `unexpected` counts refusals for another reason than the one expected.
// Ends with one JSON line: {"tried":…,"accepted":0,…}
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDeviceAgent, encode, type RefusalCode, topics } from '@pbj/device'
import { connectAsync } from 'mqtt'
import { embeddedBrokerLogin } from '#pbj/actions/broker/embeddedBrokerLogin.js'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { createCommandFuzzer } from '../test/helpers/createCommandFuzzer.js'
import { startRegistry } from '../test/helpers/startRegistry.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const count = arg('count', 10_000)
const mosquitto = process.argv.includes('--mosquitto')
const log = (line: string) => process.stderr.write(`${line}\n`)
const startedAt = performance.now()

const registry = await startRegistry()
const broker = mosquitto ? undefined : await startEmbeddedBroker()
const brokerUrl = broker?.url ?? 'mqtt://127.0.0.1:1883'
const protocolVersion = mosquitto ? 5 : 4
const dir = mkdtempSync(join(tmpdir(), 'pbj-fuzz-'))
const logFile = join(dir, 'car.log')
const topicPrefix = `pbjfuzz-${randomBytes(4).toString('hex')}`
const device = await registry.newDevice()
const other = await registry.newDevice()

const outcomes: (RefusalCode | 'applied')[] = []
let wake = () => {}
const car = await createDeviceAgent({
  brokerUrl,
  protocolVersion,
  topicPrefix,
  deviceKey: device.deviceKey,
  chain: registry.chain,
  logFile,
  onApplied: () => {
    outcomes.push('applied')
    wake()
  },
  onRejected: (_reason, _raw, code) => {
    outcomes.push(code)
    wake()
  },
  logger: { warn: log },
})
await car.ready
// The engine's login on the embedded broker: the fuzzed commands must reach the car's own checks.
const publisher = await connectAsync(brokerUrl, { protocolVersion, ...embeddedBrokerLogin(brokerUrl) })
const topic = topics(topicPrefix).desired(device.deviceId)
const reach = (n: number) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stuck at ${outcomes.length} of ${n} outcomes`)), 60_000)
    wake = () => {
      if (outcomes.length < n) return
      clearTimeout(timer)
      resolve()
    }
    wake()
  })
const appliedLines = () => {
  try {
    return readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length
  } catch {
    return 0
  }
}

// One genuine command first, so that there is something to replay and a version to be stale against.
const baseline = registry.sign({
  deviceId: device.deviceId,
  version: 1,
  commandId: 'baseline',
  state: { locked: false },
})
await publisher.publishAsync(topic, encode(baseline), { qos: 1 })
await reach(1)
if (outcomes[0] !== 'applied') throw new Error(`the genuine baseline command was refused: ${outcomes[0]}`)
while (appliedLines() < 1) await new Promise((resolve) => setTimeout(resolve, 10))
const appliedBefore = appliedLines()

const fuzz = createCommandFuzzer({
  registry,
  deviceId: device.deviceId,
  otherDeviceId: other.deviceId,
  applied: baseline,
})
const byKind = new Map<string, { tried: number; unexpected: number }>()
const byCode = new Map<string, number>()
let unexpected = 0
const examples: { kind: string; expected: string; got: string }[] = []
const chunk = 500
for (let done = 0; done < count; ) {
  const cases = Array.from({ length: Math.min(chunk, count - done) }, () => fuzz.next())
  const base = outcomes.length
  // One at a time: the car judges messages naming its operator and the others in two lanes, so outcomes
  // may come in another order than the one published in.
  for (const [i, c] of cases.entries()) {
    await publisher.publishAsync(topic, c.payload, { qos: 1 })
    await reach(base + i + 1)
  }
  cases.forEach((c, i) => {
    const got = outcomes[base + i] as string
    const kind = byKind.get(c.kind) ?? { tried: 0, unexpected: 0 }
    kind.tried++
    byCode.set(got, (byCode.get(got) ?? 0) + 1)
    if (!fuzz.refusedAsExpected(c, got)) {
      kind.unexpected++
      unexpected++
      if (examples.length < 10) examples.push({ kind: c.kind, expected: c.expect, got })
    }
    byKind.set(c.kind, kind)
  })
  done += cases.length
  log(`fuzz: ${done} / ${count} tried, ${unexpected} unexpected`)
}
// The log is written after onApplied: give a stray last line the time to land before counting.
await new Promise((resolve) => setTimeout(resolve, 200))
const accepted = appliedLines() - appliedBefore

await publisher.publishAsync(topic, '', { qos: 1, retain: true })
await publisher.publishAsync(topics(topicPrefix).reported(device.deviceId), '', { qos: 1, retain: true })
await publisher.endAsync()
await car.close()
await broker?.close()
await registry.stop()
rmSync(dir, { recursive: true, force: true })

for (const [kind, { tried, unexpected: wrong }] of [...byKind].sort()) {
  log(`  ${kind.padEnd(36)} ${String(tried).padStart(5)} tried${wrong ? `, ${wrong} UNEXPECTED` : ''}`)
}
for (const example of examples) log(`  unexpected: ${JSON.stringify(example)}`)
const seconds = Math.round((performance.now() - startedAt) / 100) / 10
process.stdout.write(
  `${JSON.stringify({
    tried: count,
    accepted,
    unexpected,
    broker: mosquitto ? 'mosquitto' : 'aedes',
    kinds: byKind.size,
    refusals: Object.fromEntries([...byCode].sort()),
    seconds,
  })}\n`,
)
process.exitCode = accepted === 0 && unexpected === 0 ? 0 : 1
