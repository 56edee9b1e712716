import { HttpRequestError, LimitExceededRpcError, RpcRequestError } from 'viem'
import { describe, expect, it } from 'vitest'
import { classifyRpcError } from './classifyRpcError.js'
import { parseLogRangeError } from './parseLogRangeError.js'

const rpcError = (code: number, message: string, status?: number) =>
  new RpcRequestError({
    body: { method: 'eth_getLogs' },
    error: { code, message },
    url: 'http://x',
    ...(status ? { status } : {}),
  })

describe('parseLogRangeError', () => {
  it.each([
    // [provider, code, message, limit, suggested span]
    [
      'Infura',
      -32005,
      'query returned more than 10000 results. Try with this block range [0x10, 0x2f].',
      'results',
      32n,
    ],
    [
      'Alchemy',
      -32602,
      'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x1, 0x7d0]',
      'results',
      2000n,
    ],
    ['Alchemy, no range', -32602, 'eth_getLogs requests with up to a 2K block range', 'blocks', 2000n],
    ['QuickNode', -32614, 'eth_getLogs is limited to a 10,000 range', 'blocks', 10_000n],
    ['Ankr / Polygon', -32000, 'block range is too wide', 'blocks', null],
    ['BSC', -32000, 'exceed maximum block range: 5000', 'blocks', 5000n],
    ['reth', -32602, 'query exceeds max block range 100000', 'blocks', 100_000n],
    ['Base', -32000, 'block range greater than 10000 max', 'blocks', 10_000n],
    ['public RPC', -32005, 'limit exceeded', 'blocks', null],
    [
      'Alchemy timeout',
      -32000,
      'Query timeout exceeded. Consider reducing your block range.',
      'results',
      null,
    ],
  ] as const)('reads %s', (_, code, message, limit, suggestedSpan) => {
    expect(parseLogRangeError(rpcError(code, message))).toEqual({ limit, suggestedSpan })
    // viem wraps the node's error in its own class; the message is still found along the cause chain
    expect(parseLogRangeError(new LimitExceededRpcError(rpcError(code, message)))).toMatchObject({ limit })
  })

  it('does not mistake rate limits or other errors for range refusals', () => {
    expect(parseLogRangeError(rpcError(-32005, 'rate limited'))).toBeNull()
    expect(parseLogRangeError(rpcError(-32005, 'daily request limit exceeded, rate: 100/s'))).toBeNull()
    expect(parseLogRangeError(rpcError(-32000, 'execution reverted'))).toBeNull()
    expect(parseLogRangeError(new Error('fetch failed'))).toBeNull()
  })
})

describe('classifyRpcError', () => {
  it('sorts failures by what to do about them', () => {
    expect(classifyRpcError(rpcError(-32602, 'block range is too wide'))).toBe('range')
    expect(classifyRpcError(rpcError(-32005, 'rate limited', 429))).toBe('rate-limit')
    expect(classifyRpcError(new HttpRequestError({ url: 'http://x', status: 429 }))).toBe('rate-limit')
    expect(classifyRpcError(rpcError(-32007, '100/second request limit reached'))).toBe('rate-limit')
    expect(classifyRpcError(new HttpRequestError({ url: 'http://x', status: 503 }))).toBe('unavailable')
    expect(
      classifyRpcError(new HttpRequestError({ url: 'http://x', cause: new Error('fetch failed') })),
    ).toBe('unavailable')
    expect(classifyRpcError(rpcError(-32603, 'Internal error'))).toBe('unavailable')
    expect(classifyRpcError(rpcError(-32000, 'header not found'))).toBe('unavailable')
    expect(classifyRpcError(rpcError(3, 'execution reverted: not owner'))).toBe('answer')
    expect(classifyRpcError(rpcError(-32601, 'the method eth_foo does not exist'))).toBe('answer')
  })
})
