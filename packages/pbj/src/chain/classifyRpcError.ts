import { walk } from '../internal/errors.js'
import { messagesOf, parseLogRangeError } from './parseLogRangeError.js'

/**
 * What a failed request says about the endpoint:
 * - `range`: the provider refused an eth_getLogs range; ask for a smaller one.
 * - `rate-limit`: too many requests; back off (another endpoint may take it).
 * - `unavailable`: no usable answer (connection refused or dropped, timeout, 5xx, internal error, a node
 *   without the block yet); back off or fail over.
 * - `answer`: the node answered, and another node would answer the same (revert, bad params, unknown
 *   method); retrying does not help.
 */
export type RpcFaultKind = 'range' | 'rate-limit' | 'unavailable' | 'answer'

const transportErrors = new Set([
  'HttpRequestError',
  'TimeoutError',
  'SocketClosedError',
  'WebSocketRequestError',
  'RpcTimeoutError',
])
const unavailableCodes = new Set([-32603, -32002, -32001, -32000, 4900, 4901])
const rateLimitCodes = new Set([-32005, -32007, -32029, 429])
const rateLimitText =
  /rate limit|too many requests|per second|exceeded .*(capacity|quota|compute units|credits)/i
const unavailableText =
  /header not found|unknown block|block not found|not (yet )?available|timeout|timed out/i
// A transaction pool's verdict on a raw transaction is an answer even under geth's generic -32000: failing
// over would send the same transaction to every URL, and "nonce too low" is not a passing fault (OZ #681).
const txPoolAnswerText =
  /nonce too (low|high)|already known|already imported|replacement transaction underpriced|insufficient funds/i

/**
 * Sorts an RPC failure by what to do about it (see {@link RpcFaultKind}). Reads viem's error classes, HTTP
 * statuses and JSON-RPC codes along the cause chain, and the wording providers use where codes are shared.
 *
 * @example
 * if (classifyRpcError(error) === 'answer') throw error // a revert: do not retry
 */
export function classifyRpcError(error: unknown): RpcFaultKind {
  if (parseLogRangeError(error)) return 'range'
  let code: number | undefined
  let status: number | undefined
  let transport = false
  walk(error, (e) => {
    if (!e || typeof e !== 'object') return true
    const c = e as { name?: unknown; code?: unknown; status?: unknown }
    if (typeof c.name === 'string' && transportErrors.has(c.name)) transport = true
    // -1 is viem's UnknownRpcError: no code from the node (e.g. a WebSocket that would not open).
    if (code === undefined && typeof c.code === 'number' && c.code !== -1) code = c.code
    if (status === undefined && typeof c.status === 'number') status = c.status
    return false
  })
  const text = messagesOf(error).join(' | ')
  if (status === 429 || (code !== undefined && rateLimitCodes.has(code)) || rateLimitText.test(text))
    return 'rate-limit'
  if (status !== undefined && status >= 500) return 'unavailable'
  if (code !== undefined && txPoolAnswerText.test(text)) return 'answer'
  if (code !== undefined && unavailableCodes.has(code) && !/revert/i.test(text)) return 'unavailable'
  if (code !== undefined) return unavailableText.test(text) ? 'unavailable' : 'answer'
  // No JSON-RPC code: the request never got an answer (network error, timeout, closed socket, 4xx page).
  if (transport || status !== undefined) return 'unavailable'
  return /ECONN|EPIPE|socket|network|fetch failed/i.test(text) ? 'unavailable' : 'answer'
}

/** The wait a rate-limited response asks for (its `Retry-After` header), in ms, or null. */
export function retryAfterMs(error: unknown): number | null {
  let wait: number | null = null
  walk(error, (e) => {
    if (!e || typeof e !== 'object') return true
    const headers = (e as { headers?: { get?: (name: string) => string | null } }).headers
    const value = headers?.get?.('retry-after')
    if (value) {
      const seconds = Number(value)
      if (Number.isFinite(seconds)) wait = Math.max(0, seconds * 1000)
      else {
        const at = Date.parse(value)
        if (!Number.isNaN(at)) wait = Math.max(0, at - Date.now())
      }
    }
    return wait !== null
  })
  return wait
}
