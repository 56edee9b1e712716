import { createPublicClient, http, type PublicClient, webSocket } from 'viem'
import { DeviceError } from './DeviceError.js'

/**
 * A client for a car's chain reads (DeviceRegistry, its loan), over http(s) or ws(s), with few retries: a
 * command waits on these reads, and a node that is away is answered from a cache or retried later.
 *
 * @example
 * const client = connectChain('http://127.0.0.1:8545')
 */
export function connectChain(rpcUrl: string): PublicClient {
  let protocol: string
  try {
    protocol = new URL(rpcUrl).protocol
  } catch (cause) {
    throw new DeviceError(`chain.rpcUrl "${rpcUrl}" is not a URL`, { cause })
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) {
    throw new DeviceError(`chain.rpcUrl must be http(s):// or ws(s)://, got "${rpcUrl}"`)
  }
  // Few retries: a command waits on this, and a node that is away is answered from the cache or retried later.
  const settings = { retryCount: 1, timeout: 5_000 }
  return createPublicClient({
    transport: protocol.startsWith('ws') ? webSocket(rpcUrl, settings) : http(rpcUrl, settings),
  })
}
