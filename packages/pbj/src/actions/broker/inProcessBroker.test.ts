import { randomBytes } from 'node:crypto'
import { LOCK_MESSAGE, pbjDomain, topics } from '@pbj/device'
import { connectAsync } from 'mqtt'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { BrokerError } from '../../internal/errors.js'
import { silentLogger } from '../../internal/logger.js'
import { createCommandSigner } from '../devices/createCommandSigner.js'
import { createMqttBroker } from './createMqttBroker.js'
import { embeddedPublisher } from './embeddedPublisher.js'
import { startEmbeddedBroker } from './startEmbeddedBroker.js'

const domain = pbjDomain({ chainId: 31_337, registry: privateKeyToAddress(generatePrivateKey()) })
const signer = createCommandSigner({ operatorKey: generatePrivateKey(), domain })

describe('commands into an embedded broker of this process', () => {
  it('go in without the socket, retained and delivered like a PUBACKed publish; none once the broker is gone', async () => {
    const broker = await startEmbeddedBroker()
    expect(embeddedPublisher(broker.url)).toBeDefined()
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
    expect(embeddedPublisher(broker.url)).toBeUndefined()
    const error = await engine.publishDesired({ ...message, version: 2 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BrokerError)
    await engine.close()
  })
})
