import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'

/** Faults the proxy injects; every rate applies per JSON-RPC request, over HTTP and WebSocket alike. */
export type RpcFaults = {
  /** Share of requests answered with a server error: HTTP 502/503, or JSON-RPC -32603 over WebSocket. */
  errorRate?: number
  /** Share of requests answered "rate limited": HTTP 429, or JSON-RPC -32005 over WebSocket. */
  rateLimitRate?: number
  /** eth_getLogs over more blocks than this is refused with a provider's "range too large" error. */
  maxLogsRange?: number
  /** How the refusal reads: `'too-wide'` gives no hint (pbj must halve); `'infura'` suggests a range. */
  rangeErrorStyle?: 'too-wide' | 'infura' | 'alchemy'
  /** Delay before each request is answered or forwarded. */
  delayMs?: number
  /** Every connection is cut at once, and new ones are reset: the node is unreachable. */
  down?: boolean
  /**
   * eth_sendRawTransaction is answered with this JSON-RPC error instead of reaching the node, `times` times
   * (default: every time): a node saying "nonce too high", or a lagging one saying "nonce too low".
   */
  rejectSendRawTransaction?: { code: number; message: string; times?: number }
  /** The next `times` requests of `method` get a server error (JSON-RPC -32603): a blink of one method. */
  failNext?: { method: string; times: number }
}

/** What went through the proxy. */
export type RpcProxyStats = {
  httpRequests: number
  wsRequests: number
  /** Requests per JSON-RPC method, faulted ones included. */
  calls: Record<string, number>
  /** eth_getBlockByNumber('latest') requests: head polls. */
  headPolls: number
  serverErrors: number
  rateLimited: number
  rangeRejected: number
  /** Block spans (toBlock − fromBlock + 1) of the eth_getLogs ranges answered. */
  logRanges: number[]
  /** Logs returned by eth_getLogs over ranges (not by block hash). */
  rangeLogs: number
  wsConnections: number
  wsDropped: number
  /** Connections reset because the proxy was down or refusing WebSockets. */
  refused: number
  /** eth_sendRawTransaction calls answered with `rejectSendRawTransaction`'s error. */
  sendsRejected: number
}

/** A running proxy. */
export type RpcProxy = {
  httpUrl: string
  wsUrl: string
  /** Cuts every WebSocket (as a network drop would); with `refuseMs`, new ones are reset for that long. */
  dropWebSockets(options?: { refuseMs?: number }): void
  /** Replaces the faults (an empty object clears them). */
  setFaults(faults: RpcFaults): void
  stats(): RpcProxyStats
  close(): Promise<void>
}

type Call = { jsonrpc?: string; id?: unknown; method?: string; params?: unknown[] }
type Verdict =
  | { kind: 'forward' }
  | { kind: 'error'; status: number; code: number; message: string; retryAfter?: boolean }

/**
 * A JSON-RPC proxy in front of a node (Anvil) that injects the faults of real providers: server errors, rate
 * limits, eth_getLogs range limits, latency, outages and WebSocket drops. HTTP and WebSocket are served on
 * one port, like Anvil does. Test-only: it trades speed for simplicity.
 *
 * @example
 * const proxy = await createRpcProxy(anvil.rpcUrl)
 * proxy.setFaults({ errorRate: 0.3, maxLogsRange: 100 })
 * const engine = await createEngine({ rpcUrl: [proxy.wsUrl, proxy.httpUrl], ... })
 */
export async function createRpcProxy(targetHttpUrl: string): Promise<RpcProxy> {
  const targetWsUrl = targetHttpUrl.replace(/^http/, 'ws')
  let faults: RpcFaults = {}
  let refuseWsUntil = 0
  const stats: RpcProxyStats = {
    httpRequests: 0,
    wsRequests: 0,
    calls: {},
    headPolls: 0,
    serverErrors: 0,
    rateLimited: 0,
    rangeRejected: 0,
    logRanges: [],
    rangeLogs: 0,
    wsConnections: 0,
    wsDropped: 0,
    refused: 0,
    sendsRejected: 0,
  }
  let sendRejections = 0
  const sockets = new Set<Socket>()
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>()

  const judge = (call: Call, transport: 'http' | 'ws'): Verdict => {
    const method = call.method ?? '?'
    stats.calls[method] = (stats.calls[method] ?? 0) + 1
    if (method === 'eth_getBlockByNumber' && call.params?.[0] === 'latest') stats.headPolls++
    const roll = Math.random()
    const errorRate = faults.errorRate ?? 0
    if (roll < errorRate) {
      stats.serverErrors++
      return transport === 'http'
        ? { kind: 'error', status: roll < errorRate / 2 ? 502 : 503, code: -32603, message: 'bad gateway' }
        : { kind: 'error', status: 200, code: -32603, message: 'Internal error' }
    }
    if (roll < errorRate + (faults.rateLimitRate ?? 0)) {
      stats.rateLimited++
      return {
        kind: 'error',
        status: transport === 'http' ? 429 : 200,
        code: -32005,
        message: 'rate limited',
      }
    }
    const blink = faults.failNext
    if (blink && method === blink.method && blink.times > 0) {
      blink.times--
      stats.serverErrors++
      return {
        kind: 'error',
        status: transport === 'http' ? 503 : 200,
        code: -32603,
        message: 'node unavailable',
      }
    }
    const reject = faults.rejectSendRawTransaction
    if (method === 'eth_sendRawTransaction' && reject && sendRejections < (reject.times ?? Infinity)) {
      sendRejections++
      stats.sendsRejected++
      return { kind: 'error', status: 200, code: reject.code, message: reject.message }
    }
    const range = method === 'eth_getLogs' ? logsRange(call) : null
    if (range && faults.maxLogsRange !== undefined && range.span > faults.maxLogsRange) {
      stats.rangeRejected++
      return { kind: 'error', status: 200, ...rangeError(range.from, faults) }
    }
    if (range) stats.logRanges.push(range.span)
    return { kind: 'forward' }
  }

  const errorBody = (id: unknown, v: Extract<Verdict, { kind: 'error' }>) =>
    JSON.stringify({ jsonrpc: '2.0', id, error: { code: v.code, message: v.message } })

  const countLogs = (call: Call, response: unknown) => {
    if (call.method !== 'eth_getLogs' || !logsRange(call)) return
    const result = (response as { result?: unknown } | null)?.result
    if (Array.isArray(result)) stats.rangeLogs += result.length
  }

  const onHttp = async (req: IncomingMessage, res: ServerResponse) => {
    if (faults.down) return void req.socket.destroy()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    stats.httpRequests++
    let parsed: Call | Call[]
    try {
      parsed = JSON.parse(body) as Call | Call[]
    } catch {
      res.writeHead(400).end('bad json')
      return
    }
    if (faults.delayMs) await sleep(faults.delayMs)
    if (faults.down) return void req.socket.destroy()
    // A batch is judged as one request: providers rate-limit and fail whole HTTP requests.
    const first = Array.isArray(parsed) ? (parsed[0] ?? {}) : parsed
    const verdict = judge(first, 'http')
    if (verdict.kind === 'error') {
      const text = verdict.status >= 500 ? 'upstream unavailable' : null
      res.writeHead(verdict.status, {
        'content-type': text ? 'text/plain' : 'application/json',
      })
      res.end(text ?? errorBody((first as Call).id, verdict))
      return
    }
    try {
      const upstream = await fetch(targetHttpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      const text = await upstream.text()
      if (!Array.isArray(parsed)) countLogs(parsed, safeJson(text))
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text)
    } catch {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('target unreachable')
    }
  }

  const server = createServer((req, res) => void onHttp(req, res))
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket: Socket) => {
    if (faults.down) {
      stats.refused++
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    if (faults.down || Date.now() < refuseWsUntil) {
      stats.refused++
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (client) => relay(client))
  })

  const relay = (client: WebSocket) => {
    stats.wsConnections++
    const upstream = new WebSocket(targetWsUrl)
    const pair = { client, upstream }
    pairs.add(pair)
    const pending: string[] = []
    // Remembers each request's method by id, to count the logs in eth_getLogs answers.
    const inFlight = new Map<unknown, Call>()
    upstream.on('open', () => {
      for (const m of pending.splice(0)) upstream.send(m)
    })
    upstream.on('message', (data) => {
      const text = data.toString()
      const message = safeJson(text) as { id?: unknown } | null
      const call = message?.id === undefined ? undefined : inFlight.get(message.id)
      if (call) {
        inFlight.delete(message?.id)
        countLogs(call, message)
      }
      if (client.readyState === WebSocket.OPEN) client.send(text)
    })
    const end = () => {
      pairs.delete(pair)
      client.terminate()
      upstream.terminate()
    }
    upstream.on('close', end)
    upstream.on('error', end)
    client.on('close', end)
    client.on('error', end)
    client.on('message', async (data) => {
      const text = data.toString()
      const call = safeJson(text) as Call | null
      stats.wsRequests++
      if (faults.delayMs) await sleep(faults.delayMs)
      if (call && !Array.isArray(call)) {
        const verdict = judge(call, 'ws')
        if (verdict.kind === 'error') {
          if (client.readyState === WebSocket.OPEN) client.send(errorBody(call.id, verdict))
          return
        }
        if (call.id !== undefined && call.id !== null) inFlight.set(call.id, call)
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text)
      else pending.push(text)
    })
  }

  const dropAll = () => {
    for (const { client, upstream } of [...pairs]) {
      stats.wsDropped++
      // terminate() resets the TCP connection without a close frame: what a network drop looks like.
      client.terminate()
      upstream.terminate()
    }
    pairs.clear()
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dropWebSockets(options = {}) {
      refuseWsUntil = Date.now() + (options.refuseMs ?? 0)
      dropAll()
    },
    setFaults(next) {
      faults = { ...next }
      sendRejections = 0
      if (faults.down) {
        dropAll()
        for (const s of sockets) s.destroy()
      }
    },
    stats: () => structuredClone(stats),
    async close() {
      dropAll()
      wss.close()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The block span of an eth_getLogs call over a range (null for a call by block hash or by tag). */
function logsRange(call: Call): { from: bigint; span: number } | null {
  const filter = call.params?.[0] as { fromBlock?: unknown; toBlock?: unknown } | undefined
  const from = filter?.fromBlock
  const to = filter?.toBlock
  if (typeof from !== 'string' || typeof to !== 'string' || !from.startsWith('0x') || !to.startsWith('0x'))
    return null
  return { from: BigInt(from), span: Number(BigInt(to) - BigInt(from)) + 1 }
}

/** Range refusals as providers word them. */
function rangeError(from: bigint, faults: RpcFaults): { code: number; message: string } {
  const max = BigInt(faults.maxLogsRange ?? 0)
  const hint = `[0x${from.toString(16)}, 0x${(from + max - 1n).toString(16)}]`
  switch (faults.rangeErrorStyle ?? 'too-wide') {
    case 'infura':
      return {
        code: -32005,
        message: `query returned more than 10000 results. Try with this block range ${hint}.`,
      }
    case 'alchemy':
      return {
        code: -32602,
        message: `Log response size exceeded. You can make eth_getLogs requests with up to a ${max} block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: ${hint}`,
      }
    default:
      return { code: -32602, message: 'block range is too wide' }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
