import { createPublicClient, http, type PublicClient, webSocket } from 'viem'
import { InvalidUrlError } from './errors/connection.js'

/**
 * A client for a car's chain reads (DeviceRegistry, its loan), over http(s) or ws(s), with few retries: a
 * command waits on these reads, and a node that is away is answered from a cache or retried later.
 *
 * `socket: 'heads'` gives a WebSocket of its own (one per `owner`) for a head subscription (viem keys its
 * sockets by URL and options, and this one pings at another interval): pushes on the socket the reads use stalled the reads
 * behind them (~40 ms, Nagle against delayed ACKs) in measurements on Anvil.
 *
 * @example
 * const client = connectChain('http://127.0.0.1:8545')
 */
export function connectChain(
  rpcUrl: string,
  options: { socket?: 'reads' | 'heads'; owner?: number } = {},
): PublicClient {
  let protocol: string
  try {
    protocol = new URL(rpcUrl).protocol
  } catch (cause) {
    throw new InvalidUrlError({ option: 'chain.rpcUrl', url: rpcUrl, reason: 'not-a-url', cause })
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) {
    throw new InvalidUrlError({ option: 'chain.rpcUrl', url: rpcUrl, reason: 'scheme' })
  }
  // Few retries: a command waits on this, and a node that is away is answered from the cache or retried later.
  const settings = { retryCount: 1, timeout: 5_000 }
  // The interval differs per owner by a few ms: what makes viem open one socket per owner.
  const keepAlive =
    options.socket === 'heads' ? { keepAlive: { interval: 29_000 + ((options.owner ?? 0) % 1_000) } } : {}
  return createPublicClient({
    transport: protocol.startsWith('ws')
      ? webSocket(rpcUrl, { ...settings, ...keepAlive })
      : http(rpcUrl, settings),
  })
}
