import { walk } from '../internal/errors.js'
/** A provider's refusal of an eth_getLogs range, as {@link parseLogRangeError} reads it. */
export type LogRangeRefusal = {
  /** `blocks`: the range is over the provider's block limit (static); `results`: too many logs in it. */
  limit: 'blocks' | 'results'
  /** A span the provider said would work, when its message names one. */
  suggestedSpan: bigint | null
}

// Providers word the same refusal many ways; these are the phrasings of Infura, Alchemy, QuickNode, Ankr,
// BSC/Polygon nodes, geth/erigon/reth and public RPCs.
const resultLimit =
  /more than [\d,]+ (results|logs)|too many (results|logs)|log response size|response size (exceeded|is larger|too large)|result set too large|returned too many|query timeout|reduc(e|ing) (the |your )?(block )?range/i
const blockLimit =
  /block range|blocks? range|range (is )?too (large|wide|big)|range too|range limit|max(imum)? (block )?range|range of blocks|limited to a [\d,]+|range should not exceed|exceeds? (the )?(max|maximum|limit)|too many blocks|limit exceeded|range exceeds/i
const rateLimit = /rate|too many requests|per second|capacity|compute units|quota|throughput|credits/i
/** "[0x1, 0x64]" — Infura and Alchemy name a range that works. */
const suggestedRange = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i
/** "up to a 2K block range", "maximum block range: 500", "limited to a 10,000 range", "range exceeds 100". */
const namedSpan = [
  /up to a ([\d,]+)\s*(k?)\s*block range/i,
  /max(?:imum)? (?:block )?range(?: is| of)?:?\s*([\d,]+)\s*(k?)/i,
  /limited to a ([\d,]+)\s*(k?)\s*(?:block )?range/i,
  /range (?:should not exceed|exceeds?|greater than|limit(?: is| of)?:?)\s*([\d,]+)\s*(k?)/i,
]

/**
 * Tells whether an RPC error is a provider refusing an eth_getLogs range as too large, and what span it
 * suggests if it says. Rate limits share codes with range refusals (-32005), so their wording wins: a rate
 * limit read as a range refusal would only shrink ranges, but a range refusal read as a rate limit would
 * retry the same range for ever.
 *
 * @example
 * parseLogRangeError(new Error('query returned more than 10000 results. Try with this block range [0x10, 0x2f].'))
 * // → { limit: 'results', suggestedSpan: 32n }
 */
export function parseLogRangeError(error: unknown): LogRangeRefusal | null {
  const text = messagesOf(error).join(' | ')
  if (!text) return null
  const results = resultLimit.test(text)
  if (!results && (!blockLimit.test(text) || rateLimit.test(text))) return null
  return { limit: results ? 'results' : 'blocks', suggestedSpan: suggestedSpanIn(text) }
}

function suggestedSpanIn(text: string): bigint | null {
  const range = suggestedRange.exec(text)
  if (range?.[1] && range[2]) {
    const span = BigInt(range[2]) - BigInt(range[1]) + 1n
    if (span > 0n) return span
  }
  for (const pattern of namedSpan) {
    const m = pattern.exec(text)
    if (!m?.[1]) continue
    const n = BigInt(m[1].replaceAll(',', '')) * (m[2]?.toLowerCase() === 'k' ? 1000n : 1n)
    if (n > 0n) return n
  }
  return null
}

/** Messages and details along an error's cause chain (viem wraps the node's message in its own). */
export function messagesOf(error: unknown): string[] {
  const out: string[] = []
  walk(error, (e) => {
    if (typeof e === 'string') out.push(e)
    if (!e || typeof e !== 'object') return true
    const { message, details } = e as { message?: unknown; details?: unknown }
    if (typeof details === 'string') out.push(details)
    if (typeof message === 'string') out.push(message)
    return false
  })
  return out
}
