import { RpcRequestError } from 'viem'
import { describe, expect, it } from 'vitest'
import { classifySendError } from './classifySendError.js'

const rpcError = (code: number, message: string) =>
  new RpcRequestError({ body: {}, url: 'http://node', error: { code, message } })

describe('classifySendError', () => {
  it.each([
    [-32003, 'transaction already imported', 'known'],
    [-32000, 'already known', 'known'],
    [-32003, 'nonce too low', 'nonce-too-low'],
    [-32000, 'nonce too low: next nonce 5, tx nonce 3', 'nonce-too-low'],
    [-32010, 'OldNonce', 'nonce-too-low'],
    [-32000, 'Nonce too high. Expected nonce to be 0 but got 1.', 'nonce-too-high'],
    [-32000, 'NONCE_TOO_FAR_IN_FUTURE_FOR_SENDER', 'nonce-too-high'],
    [-32000, 'replacement transaction underpriced', 'replacement-underpriced'],
    [-32003, 'max fee per gas less than block base fee', 'fee-too-low'],
    [-32000, 'transaction underpriced', 'fee-too-low'],
    [-32003, 'Insufficient funds for gas * price + value', 'funds'],
    [-32000, 'txpool is full', 'unavailable'],
    [-32000, 'intrinsic gas too low', 'rejected'],
    [-32602, 'invalid chain id', 'rejected'],
  ])('%i %s → %s', (code, message, kind) => {
    expect(classifySendError(rpcError(code, message))).toBe(kind)
  })

  it('treats an unanswered request as unavailable', () => {
    expect(classifySendError(Object.assign(new Error('fetch failed'), { name: 'HttpRequestError' }))).toBe(
      'unavailable',
    )
  })
})
