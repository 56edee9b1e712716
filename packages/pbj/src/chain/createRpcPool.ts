import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { withTimeout } from '@pbj/internal/withTimeout.js'
import { http, webSocket } from 'viem'
import { RpcTimeoutError } from '../internal/errors.js'
import { classifyRpcError, type RpcFaultKind } from './classifyRpcError.js'

/** Requests over several RPC URLs with failover. */
export type RpcPool = {
  /**
   * Sends one request to the first healthy endpoint, and on to the next when it gets no usable answer. Does
   * not retry beyond that: callers back off (the follower never skips a block, so it must choose the pace).
   */
  request(method: string, params: readonly unknown[]): Promise<unknown>
  close(): Promise<void>
}

type SocketClient = { close(): void }
type Endpoint = {
  url: string
  request(args: { method: string; params: readonly unknown[] }): Promise<unknown>
  /** WebSocket endpoints: the socket client, to drop it when its socket dies. */
  getSocketClient: (() => Promise<SocketClient>) | null
  socketClient: SocketClient | null
  failures: number
  /** Until then the endpoint is only tried when every other one failed too. */
  retryAt: number
}

export const isWsUrl = (url: string) => /^wss?:\/\//.test(url)

/**
 * Pools RPC endpoints in order of preference. A request goes to the first endpoint not marked down; a
 * connection failure, timeout, 5xx or rate limit marks the endpoint down for a backoff (0.5 s doubling to
 * 30 s) and the request moves on to the next. An endpoint marked down is tried again, first, once its time
 * is up, so pbj returns to the primary. A node's real answer (a revert, a refused log range) is returned as
 * is: another node would say the same.
 *
 * WebSocket endpoints do not use viem's reconnect, which gives up for good after one failed attempt (an
 * outage longer than its 2 s delay kills the transport): a dead socket is dropped, and the next request
 * opens a new one.
 *
 * @example
 * const pool = createRpcPool(['ws://127.0.0.1:8545', 'https://backup.example'])
 * const hex = await pool.request('eth_blockNumber', [])
 */
export function createRpcPool(urls: readonly string[], options: { timeoutMs?: number } = {}): RpcPool {
  const timeout = options.timeoutMs ?? 10_000
  const endpoints: Endpoint[] = urls.map((url) => {
    if (isWsUrl(url)) {
      const t = webSocket(url, { retryCount: 0, reconnect: false, timeout })({ retryCount: 0 })
      const value = t.value as { getRpcClient(): Promise<SocketClient> }
      return {
        url,
        request: t.request as Endpoint['request'],
        getSocketClient: () => value.getRpcClient(),
        socketClient: null,
        failures: 0,
        retryAt: 0,
      }
    }
    const t = http(url, { retryCount: 0, timeout })({ retryCount: 0 })
    return {
      url,
      request: t.request as Endpoint['request'],
      getSocketClient: null,
      socketClient: null,
      failures: 0,
      retryAt: 0,
    }
  })

  const attempt = async (e: Endpoint, method: string, params: readonly unknown[]) => {
    const send = async () => {
      // Hold the socket the request goes over (viem caches it by URL), to close it if it dies.
      if (e.getSocketClient && !e.socketClient) e.socketClient = await e.getSocketClient()
      return e.request({ method, params })
    }
    // viem times out the request but not the WebSocket's opening, which can hang on an unreachable host.
    return withTimeout(
      send(),
      timeout + 1_000,
      () => new RpcTimeoutError({ url: e.url, timeoutMs: timeout, method }),
    )
  }

  const markDown = (e: Endpoint, kind: RpcFaultKind) => {
    e.failures++
    e.retryAt = Date.now() + backoffDelay(e.failures, { baseMs: 500, maxMs: 30_000 })
    if (kind !== 'unavailable') return
    // The socket may be dead, and viem would keep handing it out: close it; the next request opens another.
    e.socketClient?.close()
    e.socketClient = null
  }

  return {
    async request(method, params) {
      const now = Date.now()
      const order = [
        ...endpoints.filter((e) => e.retryAt <= now),
        ...endpoints.filter((e) => e.retryAt > now).sort((a, b) => a.retryAt - b.retryAt),
      ]
      let lastError: unknown
      for (const e of order) {
        try {
          const result = await attempt(e, method, params)
          e.failures = 0
          e.retryAt = 0
          return result
        } catch (error) {
          const kind = classifyRpcError(error)
          if (kind === 'answer' || kind === 'range') throw error
          lastError = error
          markDown(e, kind)
        }
      }
      throw lastError
    },
    async close() {
      for (const e of endpoints) {
        e.socketClient?.close()
        e.socketClient = null
        e.retryAt = Number.POSITIVE_INFINITY
      }
    },
  }
}
