import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import { BrokerError } from '../../internal/errors.js'

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
  /** Disconnects every client and stops listening; safe to call twice. */
  close(): Promise<void>
}

/**
 * Starts an aedes MQTT broker inside this process, on 127.0.0.1 and a free port unless told otherwise, so
 * pbj works without installing Mosquitto. Retained messages live in memory and die with it.
 *
 * @example
 * const broker = await startEmbeddedBroker()
 * const car = await startSimulatedCar({ brokerUrl: broker.url, deviceId })
 * await broker.close()
 */
export async function startEmbeddedBroker(
  options: { host?: string; port?: number } = {},
): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const aedes = await Aedes.createBroker()
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
    throw new BrokerError(`embedded MQTT broker cannot listen on ${host}:${options.port ?? 0}`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Choose another port, or leave the port unset to take a free one.',
    })
  }
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await new Promise<void>((resolve) => aedes.close(resolve))
        for (const socket of sockets) socket.destroy()
        await stopped
      })()
      return closing
    },
  }
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
