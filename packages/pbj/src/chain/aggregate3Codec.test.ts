import { decodeFunctionResult, encodeAbiParameters, encodeFunctionData, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { Aggregate3DecodeError, decodeAggregate3, encodeAggregate3 } from './aggregate3Codec.js'
import { aggregate3Abi } from './multicall3.js'

const randomHex = (bytes: number): Hex =>
  `0x${Array.from({ length: bytes }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('')}`
const outputs = aggregate3Abi[0].outputs

describe('aggregate3Codec', () => {
  it("encodes calls byte for byte as viem's encodeFunctionData does", () => {
    for (const n of [1, 2, 7, 50]) {
      const calls = Array.from({ length: n }, (_, i) => ({
        target: randomHex(20),
        callData: randomHex([0, 4, 31, 32, 33, 36, 68, 100][i % 8] as number),
      }))
      const viem = encodeFunctionData({
        abi: aggregate3Abi,
        functionName: 'aggregate3',
        args: [calls.map((c) => ({ ...c, allowFailure: true }))],
      })
      expect(encodeAggregate3(calls)).toBe(viem)
    }
  })

  it("decodes results as viem's decodeFunctionResult does", () => {
    const results = Array.from({ length: 40 }, (_, i) => ({
      success: i % 3 !== 0,
      returnData: randomHex([0, 1, 32, 64, 100, 4][i % 6] as number),
    }))
    const raw = encodeAbiParameters(outputs, [results])
    expect(decodeAggregate3(raw, results.length)).toEqual(
      decodeFunctionResult({ abi: aggregate3Abi, functionName: 'aggregate3', data: raw }),
    )
  })

  it('refuses an answer that is not the results of the calls sent (the batcher then sends each alone)', () => {
    const raw = encodeAbiParameters(outputs, [[{ success: true, returnData: '0x1234' }]])
    expect(() => decodeAggregate3(raw, 2)).toThrow(Aggregate3DecodeError)
    expect(() => decodeAggregate3(raw.slice(0, -64) as Hex, 1)).toThrow(Aggregate3DecodeError)
    expect(() => decodeAggregate3('0x', 1)).toThrow(Aggregate3DecodeError)
  })
})
