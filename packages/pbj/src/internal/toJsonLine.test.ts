import { describe, expect, it } from 'vitest'
import { toJsonLine } from './toJsonLine.js'

describe('toJsonLine', () => {
  it('writes one object as one line ending in a single newline', () => {
    const line = toJsonLine({ type: 'summary', nested: { list: [1, 2, { deep: 'x' }] } })
    expect(line).toBe('{"type":"summary","nested":{"list":[1,2,{"deep":"x"}]}}\n')
    expect(line.split('\n')).toHaveLength(2)
  })

  it('writes bigints as decimal strings, so any JSON reader can parse the line', () => {
    const line = toJsonLine({ type: 'block', number: 5n, amounts: [2n ** 70n, -3n] })
    expect(line).toBe('{"type":"block","number":"5","amounts":["1180591620717411303424","-3"]}\n')
    expect(JSON.parse(line)).toEqual({
      type: 'block',
      number: '5',
      amounts: ['1180591620717411303424', '-3'],
    })
  })

  it('escapes newlines inside strings, so a message cannot break the line', () => {
    const line = toJsonLine({ message: 'first\nsecond' })
    expect(line.indexOf('\n')).toBe(line.length - 1)
    expect(JSON.parse(line)).toEqual({ message: 'first\nsecond' })
  })
})
