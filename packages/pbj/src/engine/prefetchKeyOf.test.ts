import { describe, expect, it } from 'vitest'
import { stringifyJson } from '../internal/json.js'
import { prefetchKeyOf } from './prefetchKeyOf.js'

const job = (source: string, input: unknown, entry: 'handler' | 'onReorg' = 'handler') => ({
  id: `31337:0xabc:${source}:lockOnMissedPayment`,
  functionName: 'lockOnMissedPayment',
  entry,
  input: stringifyJson(input),
})

describe('prefetchKeyOf', () => {
  it('is the function and its timer for a deadline: the same in every block', () => {
    expect(prefetchKeyOf(job('timer:lockOnMissedPayment:42', {}))).toBe(
      'lockOnMissedPayment|timer:lockOnMissedPayment:42',
    )
  })

  it("is the contract, event and first argument for an event, not the log's index", () => {
    const event = (logIndex: number, loanId: bigint) => ({
      event: { name: 'InstallmentPaid', address: '0xC0', logIndex, args: { loanId, amount: 5n } },
    })
    const a = prefetchKeyOf(job('log3', event(3, 7n)))
    expect(a).toBe(prefetchKeyOf(job('log9', event(9, 7n))))
    expect(a).not.toBe(prefetchKeyOf(job('log3', event(3, 8n))))
  })

  it('is none for a compensation, which reads the chain as it is now', () => {
    expect(prefetchKeyOf(job('timer:x', {}, 'onReorg'))).toBeNull()
  })
})
