import { describe, expect, it } from 'vitest'
import { InternalError, PbjError, retryClassOf, TransientError, walk } from './base.js'
import { BrokerError } from './broker.js'
import { UnknownContractError } from './config.js'
import { KvLimitError, UnknownFunctionError } from './function.js'

describe('walk', () => {
  const root = new Error('socket closed')
  const broker = new BrokerError('cannot publish', { cause: root })
  const top = new PbjError('run failed', { cause: broker })

  it('returns the deepest cause without a predicate', () => {
    expect(top.walk()).toBe(root)
    expect(walk(new Error('alone'))).toBeInstanceOf(Error)
  })

  it('returns the first link that matches, the error itself included', () => {
    expect(top.walk((e) => e instanceof BrokerError)).toBe(broker)
    expect(top.walk((e) => e instanceof PbjError)).toBe(top)
  })

  it('returns null when nothing matches', () => {
    expect(top.walk((e) => e instanceof TypeError)).toBeNull()
  })

  it('walks plain objects and stops on a cycle', () => {
    const a: { cause?: unknown } = {}
    const b = { cause: a }
    a.cause = b
    expect(walk(a, () => false)).toBeNull()
    expect(walk({ cause: 'text' })).toBe('text')
  })
})

describe('named errors build their own messages', () => {
  it('UnknownContractError names the contract, where, and the known ones', () => {
    const e = new UnknownContractError({ name: 'Loan', where: 'payment.contract', known: ['CarLoan'] })
    expect(e.shortMessage).toBe("payment.contract 'Loan' is not a known contract")
    expect(e.details).toBe('Known contracts: CarLoan')
    expect(e.hint).toContain("Add Loan: { address: '0x…' }")
    expect(e.retry).toBe('user')
  })

  it('KvLimitError says the size and the limit', () => {
    const e = new KvLimitError({
      functionName: 'f',
      key: 'k',
      bytes: 70_000,
      limit: 'value',
      kvValueBytes: 65_536,
    })
    expect(e.shortMessage).toBe(
      "ctx.kv.set('k'): the value is 68.4 KiB as JSON; a value may be at most 64 KiB",
    )
    expect(e.meta).toMatchObject({ functionName: 'f', limit: 65_536 })
  })

  it('UnknownFunctionError lists what is loaded', () => {
    const e = new UnknownFunctionError({ name: 'x', loaded: [] })
    expect(e.message).toContain("No function named 'x' is loaded in the sandbox")
    expect(e.hint).toContain('Loaded: none.')
  })

  it('keeps retry classes: transient faults retryable, invariants fatal, unknown throwables retryable', () => {
    expect(retryClassOf(new TransientError('socket closed'))).toBe('retryable')
    expect(retryClassOf(new InternalError('nonce manager used before sync'))).toBe('fatal')
    expect(retryClassOf(new Error('x'))).toBe('retryable')
    expect(new InternalError('x').message).toMatch(/^Internal error: x\n\nFix: This is a bug in pbj/)
  })
})
