import { randomBytes } from 'node:crypto'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { Aedes, type AedesPublishPacket } from 'aedes'
import { BrokerListenError } from '../../internal/errors.js'
import { createBrokerAcl } from './createBrokerAcl.js'
import { type BrokerLogin, registerEmbeddedBrokerLogin } from './embeddedBrokerLogin.js'
import { indexRetained, type RetainedPacket, type RetainedStore } from './indexRetained.js'
import { registerInProcessBroker } from './inProcessBroker.js'

/**
 * A running in-process MQTT broker.
 *
 * @example
 * const broker: EmbeddedBroker = await startEmbeddedBroker()
 */
export type EmbeddedBroker = {
  /** `mqtt://host:port`, ready for mqtt.js. Speaks MQTT 3.1.1 only (protocolVersion 4). */
  url: string
  port: number
  /**
   * The engine's credentials, generated at start. createMqttBroker finds them by url in this process
   * (see embeddedBrokerLogin); here for a test's or tool's client that must act as the engine.
   */
  engineLogin: BrokerLogin
  /** Disconnects every client and stops listening; safe to call twice. */
  close(): Promise<void>
}

/**
 * Starts an aedes MQTT broker inside this process, on 127.0.0.1 and a free port unless told otherwise, so
 * pbj works without installing Mosquitto. Retained messages live in memory and die with it.
 *
 * It enforces the same rules as docs/mosquitto (see createBrokerAcl): no anonymous clients; the engine logs
 * in with a password generated here and handed to it in-process; a car logs in with a signature of its own
 * key (the device agent does this by itself) and reaches only its own topics. `topicPrefix` pins the
 * prefix devices may use; unset, any prefix without wildcards. Retained messages are kept by topic (see
 * indexRetained).
 *
 * @example
 * const broker = await startEmbeddedBroker()
 * const car = await startSimulatedCar({ brokerUrl: broker.url, deviceId })
 * await broker.close()
 */
export async function startEmbeddedBroker(
  options: {
    host?: string
    port?: number
    topicPrefix?: string
    onRefused?: (why: string) => void
    /**
     * The engine's login; default a fresh random one. Given when an engine in another process must keep
     * logging in across restarts of the broker (it cannot look the login up in this process).
     */
    engineLogin?: BrokerLogin
  } = {},
): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const engineLogin = options.engineLogin ?? {
    username: 'pbj-engine',
    password: randomBytes(24).toString('base64url'),
  }
  const aedes = await Aedes.createBroker({
    // Device ids are 42 characters; aedes would cap MQTT 3.1 client ids at 23.
    maxClientsIdLength: 64,
    ...createBrokerAcl({
      engine: engineLogin,
      topicPrefix: options.topicPrefix,
      ...(options.onRefused ? { onRefused: options.onRefused } : {}),
    }),
  })
  // Retained messages by topic: a (re)connecting car's subscription is a lookup, not a scan of them all.
  const retained = indexRetained((aedes as unknown as { persistence: RetainedStore }).persistence)
  // aedes only closes clients that finished CONNECT; half-open sockets are tracked here so close() is complete.
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    // Without this Nagle holds each small MQTT packet behind the previous ACK: ~24-40 ms per round trip.
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  try {
    await listen(server, options.port ?? 0, host)
  } catch (cause) {
    await new Promise<void>((resolve) => aedes.close(resolve))
    throw new BrokerListenError({ host, port: options.port ?? 0, cause })
  }
  const { port } = server.address() as AddressInfo
  const url = `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`
  const forget = registerEmbeddedBrokerLogin(url, engineLogin)
  // The engine of this process publishes its commands straight into aedes and hears the cars' reports
  // straight from it (see inProcessBroker): the broker's own publish path (retained store, delivery, QoS 1)
  // without a socket in between. Only the engine knows the url's login, so only it is trusted with this;
  // the ACL's rules are for clients, and a car's report reaches this subscription only once its publish
  // passed them.
  const forgetInProcess = registerInProcessBroker(url, {
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) =>
        aedes.publish(
          { cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false },
          (error?: Error) => (error ? reject(error) : resolve()),
        ),
      ),
    subscribe: (filter, onMessage) =>
      new Promise((resolve, reject) => {
        // Called on aedes' publish path: a subscriber that throws must not break the publish of the car.
        const hand = (packet: RetainedPacket) => {
          try {
            onMessage(packet.topic, payloadOf(packet.payload))
          } catch {}
        }
        const deliver = (packet: AedesPublishPacket, done: () => void) => {
          hand(packet)
          done()
        }
        aedes.subscribe(filter, deliver, (error?: Error) => {
          if (error) return reject(error)
          // Subscribed first, then the retained ones, as aedes serves a client: none falls in between.
          for (const packet of retained([filter])) hand(packet)
          resolve(() => aedes.unsubscribe(filter, deliver, () => {}))
        })
      }),
  })
  let closing: Promise<void> | undefined
  return {
    url,
    port,
    engineLogin,
    close: () => {
      closing ??= (async () => {
        forget()
        forgetInProcess()
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await new Promise<void>((resolve) => aedes.close(resolve))
        for (const socket of sockets) socket.destroy()
        await stopped
      })()
      return closing
    },
  }
}

function payloadOf(payload: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(payload)) return payload
  return typeof payload === 'string'
    ? Buffer.from(payload)
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
