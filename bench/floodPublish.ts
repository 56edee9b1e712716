// node --no-node-snapshot --import tsx bench/floodPublish.ts [--cars 1000] [--rounds 5] [--concurrency 64]
//
// The publish path alone, without a chain: the engine's broker connection (createMqttBroker) publishes one
// signed command to each of `cars` cars through the embedded broker in this process, as the outbox does
// (64 in flight), and the cars (another process) answer each with a retained report. Per round: ms until
// the broker acknowledged every command, until every car had its command, and the CPU time of this process
// (broker + engine side) per command. Then every car reconnects at once: ms until each has its retained
// command again. For A/B runs of the broker and publishDesired.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { pbjDomain } from '@pbj/device'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { createMqttBroker } from '#pbj/actions/broker/createMqttBroker.js'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'

let writes = 0
const proto = Socket.prototype as unknown as { _writeGeneric: (...a: unknown[]) => unknown }
const original = proto._writeGeneric
proto._writeGeneric = function (this: Socket, ...a: unknown[]) {
  writes++
  return original.apply(this, a)
}
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const carCount = Number(arg('cars', '1000'))
const rounds = Number(arg('rounds', '5'))
const concurrency = Number(arg('concurrency', '64'))
const topicPrefix = `pbjpub-${randomBytes(4).toString('hex')}`
const broker = await startEmbeddedBroker()
const keys = Array.from({ length: carCount }, () => generatePrivateKey())
const ids = keys.map((key) => privateKeyToAddress(key).toLowerCase())
const child = fork(
  fileURLToPath(new URL('./flood/floodPublishCars.ts', import.meta.url)),
  [JSON.stringify({ brokerUrl: broker.url, topicPrefix, keys })],
  { execArgv: ['--no-node-snapshot', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
)
await new Promise<void>((resolve) => child.once('message', () => resolve()))
const got = () =>
  new Promise<number>((resolve) => {
    child.once('message', (m: { got: number }) => resolve(m.got))
    child.send({})
  })
const domain = pbjDomain({ chainId: 31337, registry: `0x${randomBytes(20).toString('hex')}` })
const connection = await createMqttBroker({ url: broker.url, topicPrefix })
const signer = createCommandSigner({ operatorKey: generatePrivateKey(), domain })
let expected = 0
for (let round = 1; round <= rounds; round++) {
  const messages = signer.sign(
    ids.map((deviceId) => ({
      deviceId,
      version: round,
      commandId: `c${round}`,
      state: { locked: round % 2 === 1 },
      chainTime: 0,
    })),
  )
  const cpu = process.cpuUsage()
  const writesBefore = writes
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < messages.length) {
      const message = messages[next++]
      if (message) await connection.publishDesired(message)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const atBroker = performance.now() - started
  const used = process.cpuUsage(cpu)
  expected += carCount
  while ((await got()) < expected) await new Promise((resolve) => setTimeout(resolve, 5))
  const delivered = performance.now() - started
  console.log(
    `round ${round}: all at broker ${atBroker.toFixed(0)} ms, all delivered ≤ ${delivered.toFixed(0)} ms, ` +
      `${(((used.user + used.system) / carCount) | 0).toString()} µs CPU/command (this process, to broker acks), ${((writes - writesBefore) / carCount).toFixed(2)} writes/command`,
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
}
// Every car reconnects at once: each SUBSCRIBE finds its retained command among 2 × cars retained messages.
const reconnectCpu = process.cpuUsage()
const reconnected = await new Promise<number>((resolve) => {
  child.once('message', (m: { ms: number }) => resolve(m.ms))
  child.send({ type: 'reconnect' })
})
const { user, system } = process.cpuUsage(reconnectCpu)
console.log(
  `all ${carCount} cars reconnected and had their retained command again in ${reconnected.toFixed(0)} ms, ` +
    `${((user + system) / 1000).toFixed(0)} ms CPU in this process (the broker)`,
)
child.disconnect()
await connection.close()
await broker.close()
