import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { matchesFilter } from './indexRetained.js'
import { type EmbeddedBroker, startEmbeddedBroker } from './startEmbeddedBroker.js'

describe('matchesFilter', () => {
  it.each([
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/x/c', true],
    ['a/+/c', 'a/x/y/c', false],
    ['a/+', 'a/', true],
    ['+/+', '/x', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab/c', false],
    ['#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['p/devices/+/reported', 'p/devices/0xab/reported', true],
    ['p/devices/+/reported', 'p/devices/0xab/desired', false],
  ])('%s against %s: %s', (filter, topic, expected) => {
    expect(matchesFilter(filter, topic)).toBe(expected)
  })
})

describe('retained messages of the embedded broker', () => {
  let broker: EmbeddedBroker
  const clients: MqttClient[] = []
  beforeAll(async () => {
    broker = await startEmbeddedBroker()
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await broker.close()
  })
  const engine = async () => {
    const client = await connectAsync(broker.url, { ...broker.engineLogin, reconnectPeriod: 0 })
    clients.push(client)
    return client
  }
  const retainedOn = async (filter: string, settleMs = 200) => {
    const client = await engine()
    const got = new Map<string, string>()
    client.on('message', (topic, payload, packet) => {
      if (packet.retain) got.set(topic, payload.toString())
    })
    await client.subscribeAsync(filter, { qos: 1 })
    await new Promise((resolve) => setTimeout(resolve, settleMs))
    return got
  }

  it('delivers the latest retained message of an exact topic, and none once it is cleared', async () => {
    const publisher = await engine()
    await publisher.publishAsync('t/devices/a/desired', 'v1', { qos: 1, retain: true })
    await publisher.publishAsync('t/devices/a/desired', 'v2', { qos: 1, retain: true })
    await publisher.publishAsync('t/devices/b/desired', 'b1', { qos: 1, retain: true })
    expect(await retainedOn('t/devices/a/desired')).toEqual(new Map([['t/devices/a/desired', 'v2']]))
    await publisher.publishAsync('t/devices/a/desired', '', { qos: 1, retain: true })
    expect(await retainedOn('t/devices/a/desired')).toEqual(new Map())
  })

  it('delivers every retained message a wildcard filter matches, and no other', async () => {
    const publisher = await engine()
    await publisher.publishAsync('w/devices/a/reported', 'ra', { qos: 1, retain: true })
    await publisher.publishAsync('w/devices/b/reported', 'rb', { qos: 1, retain: true })
    await publisher.publishAsync('w/devices/a/desired', 'da', { qos: 1, retain: true })
    await publisher.publishAsync('other/devices/a/reported', 'x', { qos: 1, retain: true })
    expect(await retainedOn('w/devices/+/reported')).toEqual(
      new Map([
        ['w/devices/a/reported', 'ra'],
        ['w/devices/b/reported', 'rb'],
      ]),
    )
    expect((await retainedOn('w/#')).size).toBe(3)
  })
})
