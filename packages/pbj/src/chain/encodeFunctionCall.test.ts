import { carLoanAbi, deviceRegistryAbi } from '@pbj/contracts'
import { type Abi, encodeFunctionData, getAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../../test/helpers/seededRandom.js'
import { encodeFunctionCall } from './encodeFunctionCall.js'

const { random, pick, randomHex } = seededRandom(7)

/** viem's call data (or error) and ours, which must be the same. */
function both(abi: Abi, functionName: string, args: readonly unknown[]) {
  const run = (encode: () => unknown) => {
    try {
      return { value: encode() }
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` }
    }
  }
  return {
    viem: run(() =>
      encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]),
    ),
    ours: run(() => encodeFunctionCall(abi, functionName, args).data),
  }
}

const types = ['uint8', 'uint48', 'uint64', 'uint256', 'int8', 'int64', 'int256', 'address', 'bool']
/** A value for `type`: mostly in range, sometimes one viem refuses (out of range, a number, a bad address). */
function randomArg(type: string): unknown {
  const roll = random()
  if (type === 'address') {
    const address = randomHex(20)
    if (roll < 0.1) return `${address.slice(0, 3)}${address.slice(3).toUpperCase()}` // a bad checksum, mostly
    if (roll < 0.15) return address.slice(0, 20)
    return roll < 0.5 ? getAddress(address) : address
  }
  if (type === 'bool') return roll < 0.05 ? 1 : roll < 0.5
  const bits = BigInt(type.replace(/^u?int/, ''))
  const signed = type.startsWith('int')
  const max = (1n << (signed ? bits - 1n : bits)) - 1n
  const min = signed ? -max - 1n : 0n
  if (roll < 0.05) return max + 1n
  if (roll < 0.1) return min - 1n
  if (roll < 0.15) return 5
  return pick([0n, 1n, max, min, BigInt(randomHex(Number(bits) / 8)) & max, -(BigInt(randomHex(4)) & max)])
}

describe('encodeFunctionCall', () => {
  it("writes random calls of the elementary types byte for byte as viem's encodeFunctionData does", () => {
    for (let i = 0; i < 2_000; i++) {
      const inputs = Array.from({ length: Math.floor(random() * 4) }, (_, j) => ({
        name: `a${j}`,
        type: pick(types),
      }))
      const abi = [{ type: 'function', name: 'f', inputs, outputs: [], stateMutability: 'view' }] as Abi
      const args = inputs.map((p) => randomArg(p.type))
      const { viem, ours } = both(abi, 'f', random() < 0.03 ? [...args, 1n] : args)
      expect(ours).toStrictEqual(viem)
    }
  })

  it('writes the engine’s reads, overloads, tuples and missing functions as viem does', () => {
    const loan = [1n, 2n ** 200n]
    for (const name of ['getLoan', 'policyOf', 'carStatus', 'isDelinquent', 'stageOf'])
      for (const id of loan)
        expect(both(carLoanAbi, name, [id]).ours).toStrictEqual(both(carLoanAbi, name, [id]).viem)
    const device = getAddress(randomHex(20))
    const operator = randomHex(20)
    expect(both(deviceRegistryAbi, 'isOperator', [device, operator]).ours).toStrictEqual(
      both(deviceRegistryAbi, 'isOperator', [device, operator]).viem,
    )
    const overloaded = [
      { type: 'function', name: 'g', inputs: [{ type: 'uint256' }], outputs: [], stateMutability: 'view' },
      { type: 'function', name: 'g', inputs: [{ type: 'address' }], outputs: [], stateMutability: 'view' },
      {
        type: 'function',
        name: 'h',
        inputs: [
          {
            type: 'tuple',
            components: [
              { name: 'x', type: 'uint256' },
              { name: 'y', type: 'string' },
            ],
          },
        ],
        outputs: [],
        stateMutability: 'view',
      },
      { type: 'event', name: 'e', inputs: [] },
    ] as Abi
    for (const [name, args] of [
      ['g', [3n]],
      ['g', [operator]],
      ['h', [{ x: 1n, y: 'text' }]],
      ['e', []],
      ['missing', []],
    ] as const) {
      const { viem, ours } = both(overloaded, name, args)
      expect(ours, name).toStrictEqual(viem)
    }
    expect(encodeFunctionCall(overloaded, 'g', [operator]).item?.inputs[0]?.type).toBe('address')
  })
})
