import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { sleep } from '@pbj/internal/sleep.js'
import { withTimeout } from '@pbj/internal/withTimeout.js'
import { type RpcBlock, webSocket } from 'viem'
import type { BlockHeader } from '../core/block.js'
import { HeadSubscriptionError } from '../internal/errors.js'

type SocketClient = { close(): void }
type HeadsTransport = {
  getRpcClient(): Promise<SocketClient>
  subscribe(args: {
    params: ['newHeads']
    onData: (data: { result: RpcBlock }) => void
    onError: (error: Error) => void
  }): Promise<unknown>
}

/** Options of {@link watchHeadsOverWebSocket}. */
export type WatchHeadsOptions = {
  /** WebSocket URLs in order of preference; after a failure the next one is tried. */
  wsUrls: readonly string[]
  toHeader(block: RpcBlock): BlockHeader
  /** Reads the head over the request connection: used while no subscription is live. */
  getHead(): Promise<BlockHeader>
  pollingIntervalMs: number
  /** Longest wait for a socket to open and the subscription to be confirmed. */
  timeoutMs?: number
  onHead(head: BlockHeader): void
  /** A subscription dropped, or could not be made; heads are polled until one is live again. */
  onError(error: Error): void
}

/**
 * Subscribes to `newHeads` on a WebSocket of its own, and keeps a subscription up: when the socket drops it
 * polls the head at once and every `pollingIntervalMs` (so blocks mined meanwhile are seen within that
 * time, not at the follower's slow safety poll), and subscribes again with backoff (100 ms doubling to 5 s),
 * moving through `wsUrls`. Resolves once a subscription is live, or — every URL having failed once — with
 * polling running and retries in the background: a dead first URL must not stop the engine.
 *
 * The socket carries nothing but the subscription: requests on it would put Linux into delayed-ACK mode and
 * hold Anvil's next push ~40 ms.
 *
 * @example
 * const stop = await watchHeadsOverWebSocket({ wsUrls, toHeader, getHead, pollingIntervalMs: 250, onHead, onError })
 */
export async function watchHeadsOverWebSocket(options: WatchHeadsOptions): Promise<() => void> {
  const { wsUrls } = options
  const timeout = options.timeoutMs ?? 10_000
  const stopping = new AbortController()
  let live: { token: number; url: string; client: SocketClient | null } | null = null
  let token = 0
  let polling: NodeJS.Timeout | null = null
  let lastPolled: string | null = null
  let reconnecting = false

  const transports = new Map<string, HeadsTransport>()
  const transportFor = (url: string) => {
    let t = transports.get(url)
    if (!t) {
      // viem caches sockets by URL and options: reconnect off and a keepAlive of its own give this one a
      // socket distinct from the request pool's, and no viem reconnect (which gives up after one failure).
      t = webSocket(url, { reconnect: false, keepAlive: { interval: 29_000 }, retryCount: 0 })({
        retryCount: 0,
      }).value as unknown as HeadsTransport
      transports.set(url, t)
    }
    return t
  }

  const poll = () => {
    if (stopping.signal.aborted || live) return
    options
      .getHead()
      .then((head) => {
        if (head.hash === lastPolled) return
        lastPolled = head.hash
        options.onHead(head)
      })
      .catch(() => {
        // The follower's own poll and backoff report RPC trouble; this poll only speeds up recovery.
      })
      .finally(() => {
        if (!stopping.signal.aborted && !live) polling = setTimeout(poll, options.pollingIntervalMs)
      })
  }
  const startPolling = () => {
    if (polling || stopping.signal.aborted) return
    lastPolled = null
    poll()
  }
  const stopPolling = () => {
    if (polling) clearTimeout(polling)
    polling = null
  }

  const subscribe = async (url: string, again: boolean) => {
    const mine = ++token
    const t = transportFor(url)
    let client: SocketClient | null = null
    const attempt = (async () => {
      client = await t.getRpcClient()
      await t.subscribe({
        params: ['newHeads'],
        onData: (d) => {
          if (live?.token === mine) options.onHead(options.toHeader(d.result))
        },
        onError: (error) => {
          if (live?.token === mine) dropped(error)
        },
      })
    })()
    try {
      await withTimeout(attempt, timeout, () => new HeadSubscriptionError({ url, problem: 'timeout' }))
    } catch (error) {
      ;(client as SocketClient | null)?.close()
      throw error
    }
    if (stopping.signal.aborted) {
      ;(client as SocketClient | null)?.close()
      return
    }
    live = { token: mine, url, client }
    stopPolling()
    if (!again) return
    // Blocks mined between the last poll and the new subscription are not pushed: look once more.
    lastPolled = null
    void options
      .getHead()
      .then((head) => !stopping.signal.aborted && options.onHead(head))
      .catch(() => {})
  }

  const dropped = (error: Error) => {
    if (stopping.signal.aborted) return
    const was = live
    live = null
    // The socket is dead or unusable; close it so viem's cache hands out a fresh one.
    was?.client?.close()
    options.onError(asError(error, was?.url ?? ''))
    startPolling()
    void reconnect()
  }

  const reconnect = async () => {
    if (reconnecting) return
    reconnecting = true
    try {
      for (let attempt = 1; !stopping.signal.aborted && !live; attempt++) {
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 }), stopping.signal)
        if (stopping.signal.aborted) return
        const url = wsUrls[(attempt - 1) % wsUrls.length] as string
        try {
          await subscribe(url, true)
        } catch (error) {
          // Every 8th failure only: a long outage must not flood the log.
          if (attempt % 8 === 1) options.onError(asError(error, url))
        }
      }
    } finally {
      reconnecting = false
    }
  }

  let firstError: unknown = null
  for (const url of wsUrls) {
    try {
      await subscribe(url, false)
      break
    } catch (error) {
      firstError ??= asError(error, url)
    }
  }
  if (!live && !stopping.signal.aborted) {
    options.onError(asError(firstError, wsUrls[0] ?? ''))
    startPolling()
    void reconnect()
  }

  return () => {
    stopping.abort()
    stopPolling()
    // Cleared first: closing the socket reports a drop, which must not count as one.
    const was = live
    live = null
    was?.client?.close()
  }
}

function asError(error: unknown, url: string): Error {
  return new HeadSubscriptionError({ url, problem: 'failed', cause: error })
}
