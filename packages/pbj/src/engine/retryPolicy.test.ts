import { afterEach, describe, expect, it, vi } from 'vitest'
import { HostCallError, PbjError, RpcError, SandboxCrashedError } from '../internal/errors.js'
import { decideRetry, type RetryPolicy } from './retryPolicy.js'

const policy: RetryPolicy = { maxAttempts: 5, backoffMs: 1_000, maxBackoffMs: 30_000, on: 'faults' }
const fault = new RpcError('the node did not answer')

describe('decideRetry', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("retries the platform's faults, and anything not a PbjError, which is treated as one", () => {
    for (const error of [
      fault,
      new SandboxCrashedError('it died'),
      new Error('socket hang up'),
      'thrown text',
    ]) {
      expect(decideRetry({ error, attempt: 1, policy })).toMatchObject({ retry: true })
    }
  })

  it("fails the function's own errors at once with on: 'faults', and retries them with on: 'all'", () => {
    const error = new HostCallError('ctx.kv.set() needs a key')
    expect(decideRetry({ error, attempt: 1, policy })).toEqual({ retry: false, status: 'failed' })
    expect(decideRetry({ error, attempt: 1, policy: { ...policy, on: 'all' } })).toMatchObject({
      retry: true,
    })
  })

  it('never retries a fatal error, even with on: all', () => {
    const error = new PbjError('a bug in pbj')
    expect(decideRetry({ error, attempt: 1, policy: { ...policy, on: 'all' } })).toEqual({
      retry: false,
      status: 'failed',
    })
  })

  it('is dead after maxAttempts', () => {
    expect(decideRetry({ error: fault, attempt: 4, policy })).toMatchObject({ retry: true })
    expect(decideRetry({ error: fault, attempt: 5, policy })).toEqual({ retry: false, status: 'dead' })
    expect(decideRetry({ error: fault, attempt: 1, policy: { ...policy, maxAttempts: 1 } })).toEqual({
      retry: false,
      status: 'dead',
    })
  })

  it('doubles the delay from backoffMs up to maxBackoffMs', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5) // no jitter: 0.5 + 0.5 = ×1
    const many = { ...policy, maxAttempts: 100 }
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
      decideRetry({ error: fault, attempt, policy: many }),
    )
    expect(delays.map((d) => (d.retry ? d.delayMs : null))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ])
  })

  it('spreads the delay ±50 % (which may pass the cap) and never waits less than 1 ms', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    expect(decideRetry({ error: fault, attempt: 2, policy })).toEqual({ retry: true, delayMs: 1_000 })
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999)
    expect(decideRetry({ error: fault, attempt: 10, policy: { ...policy, maxAttempts: 20 } })).toEqual({
      retry: true,
      delayMs: 45_000,
    })
    expect(decideRetry({ error: fault, attempt: 1, policy: { ...policy, backoffMs: 0 } })).toEqual({
      retry: true,
      delayMs: 1,
    })
  })
})
