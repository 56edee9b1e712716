import { once } from 'node:events'
import { type AddressInfo, createServer, Socket } from 'node:net'
import { Aedes } from 'aedes'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectMqtt, endMqtt } from './connectMqtt.js'

const connected = (client: MqttClient) =>
  new Promise<void>((resolve) => client.once('connect', () => resolve()))

describe('connectMqtt', () => {
  let broker: Aedes
  let server: ReturnType<typeof createServer>
  let url = ''
  const logins: string[] = []

  beforeAll(async () => {
    broker = await Aedes.createBroker({
      authenticate: (_client, username, _password, done) => {
        logins.push(username ?? '')
        done(null, true)
      },
    })
    server = createServer(broker.handle)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    server.close()
  })

  it('connects with a fresh login each time, on a no-delay socket, and ends cleanly', async () => {
    const noDelay = vi.spyOn(Socket.prototype, 'setNoDelay')
    let n = 0
    const client = connectMqtt(url, { reconnectPeriod: 50, login: () => ({ username: `login-${++n}` }) })
    await connected(client)
    expect(logins).toContain('login-1')
    expect(noDelay.mock.contexts).toContain(client.stream)
    expect(noDelay).toHaveBeenCalledWith(true)
    // A dropped connection: mqtt.js reconnects, with the login asked for again and no-delay set again.
    noDelay.mockClear()
    client.stream.destroy()
    await connected(client)
    expect(logins).toContain('login-2')
    expect(noDelay.mock.contexts).toContain(client.stream)
    noDelay.mockRestore()
    await endMqtt(client)
    expect(client.disconnected).toBe(true)
  })

  it('ends a client that never connected at once', async () => {
    const client = connectMqtt('mqtt://127.0.0.1:1', { reconnectPeriod: 0 })
    client.on('error', () => {})
    const started = performance.now()
    await endMqtt(client)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('throws for a URL mqtt.js cannot use', () => {
    expect(() => connectMqtt('not a url')).toThrow('Missing protocol')
  })
})
