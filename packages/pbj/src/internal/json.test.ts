import { describe, expect, it } from 'vitest'
import { parseJson, stringifyJson } from './json.js'

describe('stringifyJson / parseJson', () => {
  it('round-trips bigints wherever they sit, beside ordinary values', () => {
    const value = {
      block: { number: 18_000_000n, timestamp: 1_700_000_000n },
      amounts: [0n, -5n, 2n ** 200n],
      name: 'loan',
      ok: true,
      none: null,
      count: 3,
    }
    expect(parseJson(stringifyJson(value))).toEqual(value)
  })

  it('writes a bigint as { "$bigint": "<decimal>" } so plain JSON readers see a string, not a lossy number', () => {
    expect(stringifyJson({ n: 12345678901234567890n })).toBe('{"n":{"$bigint":"12345678901234567890"}}')
    expect(stringifyJson(-1n)).toBe('{"$bigint":"-1"}')
  })

  it('reads a top-level bigint', () => {
    expect(parseJson('{"$bigint":"5"}')).toBe(5n)
  })

  it('leaves objects alone that only look like a bigint: extra keys or a non-string value', () => {
    expect(parseJson('{"$bigint":"5","other":1}')).toEqual({ $bigint: '5', other: 1 })
    expect(parseJson('{"$bigint":5}')).toEqual({ $bigint: 5 })
    expect(parseJson('{"$bigint":null}')).toEqual({ $bigint: null })
  })

  it('keeps numbers as numbers (only bigints are tagged)', () => {
    const parsed = parseJson<{ n: unknown }>(stringifyJson({ n: 42 }))
    expect(parsed.n).toBe(42)
    expect(typeof parsed.n).toBe('number')
  })
})
