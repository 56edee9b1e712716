import { describe, expect, it } from 'vitest'
import { messageOf } from './messageOf.js'

describe('messageOf', () => {
  it('reads an Error by its message and anything else as a string', () => {
    expect(messageOf(new TypeError('bad input'))).toBe('bad input')
    expect(messageOf('plain text')).toBe('plain text')
    expect(messageOf(42)).toBe('42')
    expect(messageOf(undefined)).toBe('undefined')
  })

  it('keeps only the first line when asked', () => {
    const error = new Error('nonce too low\n\nRequest Arguments:\n  from: 0x…')
    expect(messageOf(error)).toContain('Request Arguments')
    expect(messageOf(error, { firstLine: true })).toBe('nonce too low')
  })

  it("takes viem's shortMessage when asked and there is one", () => {
    const error = Object.assign(new Error('HTTP request failed.\n\nURL: http://…'), {
      shortMessage: 'HTTP request failed.',
    })
    expect(messageOf(error, { short: true })).toBe('HTTP request failed.')
    expect(messageOf(error)).toContain('URL:')
    expect(messageOf(new Error('plain'), { short: true })).toBe('plain')
  })

  it('reads a thrown object by its message, else as JSON: never [object Object]', () => {
    expect(messageOf({ code: -32603, message: 'internal error' })).toBe('internal error')
    expect(messageOf({ code: -32005, data: { limit: 10n } })).toBe('{"code":-32005,"data":{"limit":"10"}}')
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(messageOf(circular)).toBe('[object Object]')
    expect(messageOf(null)).toBe('null')
  })
})
