import { randomBytes } from 'node:crypto'
import {
  createTypedHashes,
  LOCK_MESSAGE,
  pbjDomain,
  type ReportedMessage,
  signDigest,
  topics,
} from '@pbj/device'
import { connectAsync } from 'mqtt'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { BrokerError } from '../../internal/errors.js'
import { silentLogger } from '../../internal/logger.js'
import { createCommandSigner } from '../devices/createCommandSigner.js'
import { createMqttBroker } from './createMqttBroker.js'
import { inProcessBroker } from './inProcessBroker.js'
import { startEmbeddedBroker } from './startEmbeddedBroker.js'

const domain = pbjDomain({ chainId: 31_337, registry: privateKeyToAddress(generatePrivateKey()) })
const signer = createCommandSigner({ operatorKey: generatePrivateKey(), domain })

describe('commands into an embedded broker of this process', () => {
  it('go in without the socket, retained and delivered like a PUBACKed publish; none once the broker is gone', async () => {
    const broker = await startEmbeddedBroker()
    expect(inProcessBroker(broker.url)).toBeDefined()
    const prefix = `pbjtest-${randomBytes(4).toString('hex')}`
    const names = topics(prefix)
    const engine = await createMqttBroker({ url: broker.url, topicPrefix: prefix, logger: silentLogger })
    const deviceId = privateKeyToAddress(generatePrivateKey()).toLowerCase()
    const [message] = signer.sign([
      { deviceId, version: 1, commandId: 'c1', state: { locked: true, message: LOCK_MESSAGE }, chainTime: 1 },
    ])
    if (!message) throw new Error('not signed')
    const topicsSeen: string[] = []
    await engine.publishDesired(message)
    // A client subscribing afterwards gets it retained, as the car reconnecting would.
    const watcher = await connectAsync(broker.url, { ...broker.engineLogin, clientId: `w-${deviceId}` })
    const received = new Promise<string>((resolve) =>
      watcher.on('message', (topic, payload) => {
        topicsSeen.push(topic)
        resolve(payload.toString())
      }),
    )
    await watcher.subscribeAsync(names.desired(deviceId), { qos: 1 })
    expect(JSON.parse(await received)).toMatchObject({ deviceId, version: 1, auth: message.auth })
    expect(topicsSeen).toEqual([names.desired(deviceId)])
    await watcher.endAsync()

    // A broker that stopped takes nothing in-process: the client path says it is not connected (retryable).
    await broker.close()
    expect(inProcessBroker(broker.url)).toBeUndefined()
    const error = await engine.publishDesired({ ...message, version: 2 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BrokerError)
    await engine.close()
  })

  it("hand the cars' reports over without the socket, still checked, and again from a broker restarted on the url", async () => {
    const broker = await startEmbeddedBroker()
    const prefix = `pbjtest-${randomBytes(4).toString('hex')}`
    const names = topics(prefix)
    const warnings: string[] = []
    const engine = await createMqttBroker({
      url: broker.url,
      topicPrefix: prefix,
      domain,
      logger: { ...silentLogger, warn: (message) => warnings.push(message) },
    })
    const received: ReportedMessage[] = []
    let wake = () => {}
    const stop = engine.onReported((report) => {
      received.push(report)
      wake()
    })
    const next = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} reports`)), 5_000)
        wake = () => {
          if (received.length < count) return
          clearTimeout(timer)
          resolve()
        }
        wake()
      })
    const carKey = generatePrivateKey()
    const deviceId = privateKeyToAddress(carKey).toLowerCase()
    const hashes = createTypedHashes(domain)
    const report = (version: number): ReportedMessage => {
      const unsigned = {
        type: 'reported' as const,
        deviceId,
        version,
        commandId: `c${version}`,
        state: { locked: true },
        appliedAt: Date.now(),
      }
      return { ...unsigned, signature: signDigest(hashes.reportDigest(unsigned), carKey) }
    }
    // A client with the engine's login may publish anywhere: the signature still decides.
    const send = async (url: string, payload: unknown) => {
      const client = await connectAsync(url, {
        ...broker.engineLogin,
        clientId: `r-${randomBytes(4).toString('hex')}`,
      })
      await client.publishAsync(names.reported(deviceId), JSON.stringify(payload), { qos: 1, retain: true })
      await client.endAsync()
    }
    const first = report(1)
    await send(broker.url, { ...first, state: { locked: false } })
    await send(broker.url, first)
    await next(1)
    expect(received).toEqual([first])
    expect(warnings).toEqual([
      expect.stringMatching(/\(version 1\): it is signed by 0x[0-9a-f]{40}, not by the device$/),
    ])

    // The broker restarts on its port: a new one, whose reports the engine subscribes to once it is back.
    await broker.close()
    const again = await startEmbeddedBroker({ port: broker.port, engineLogin: broker.engineLogin })
    await new Promise<void>((resolve) => engine.onConnectionChange((up) => up && resolve()))
    await send(again.url, report(2))
    await next(2)
    expect(received.map((r) => r.version)).toEqual([1, 2])

    // Unsubscribed: nothing more is handed over.
    stop()
    await send(again.url, report(3))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(received.map((r) => r.version)).toEqual([1, 2])
    await engine.close()
    await again.close()
  })
})
