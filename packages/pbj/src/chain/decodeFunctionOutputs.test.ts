import { carLoanAbi, deviceRegistryAbi } from '@pbj/contracts'
import {
  type AbiFunction,
  type AbiParameter,
  decodeFunctionResult,
  encodeAbiParameters,
  type Hex,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../../test/helpers/seededRandom.js'
import { decodeFunctionOutputs, decodeStaticParams } from './decodeFunctionOutputs.js'

const { random, pick, randomHex } = seededRandom(13)
const big = (bytes: number) => BigInt(randomHex(bytes))

const intSizes = [8, 16, 24, 32, 40, 48, 56, 64, 128, 160, 248, 256]
/** A random static or dynamic parameter (depth-limited), named or not. */
function randomParam(depth: number, named: boolean): AbiParameter {
  const name = named ? `f${Math.floor(random() * 1e6)}` : ''
  const kinds = ['uint', 'int', 'address', 'bool', 'bytesN', 'tuple', 'array', 'string', 'bytes', 'dynArray']
  const kind = depth > 2 ? pick(kinds.slice(0, 5)) : pick(kinds)
  if (kind === 'uint' || kind === 'int') return { name, type: `${kind}${pick(intSizes)}` }
  if (kind === 'bytesN') return { name, type: `bytes${1 + Math.floor(random() * 32)}` }
  if (kind === 'tuple') {
    const allNamed = random() < 0.8
    const components = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
      randomParam(depth + 1, allNamed),
    )
    return { name, type: 'tuple', components } as AbiParameter
  }
  if (kind === 'array' || kind === 'dynArray') {
    const element = randomParam(depth + 1, true)
    const suffix = kind === 'array' ? `[${1 + Math.floor(random() * 3)}]` : '[]'
    return { ...element, name, type: `${element.type}${suffix}` } as AbiParameter
  }
  return { name, type: kind === 'string' ? 'string' : kind === 'bytes' ? 'bytes' : kind }
}

/** A random value of `param`, edges included (zero, the top of the range, negatives). */
function randomValue(param: AbiParameter): unknown {
  const array = /^(.*)\[(\d*)\]$/.exec(param.type)
  if (array) {
    const length = array[2] ? Number(array[2]) : Math.floor(random() * 3)
    const element = { ...param, type: array[1] } as AbiParameter
    return Array.from({ length }, () => randomValue(element))
  }
  if (param.type === 'tuple') {
    const components = (param as { components: readonly AbiParameter[] }).components
    const named = components.every((c) => c.name)
    const values = components.map(randomValue)
    return named ? Object.fromEntries(components.map((c, i) => [c.name, values[i]])) : values
  }
  if (param.type === 'address') return randomHex(20)
  if (param.type === 'bool') return random() < 0.5
  if (param.type === 'string') return pick(['', 'a', 'a longer string than one word of thirty-two bytes'])
  if (param.type === 'bytes') return randomHex(pick([0, 1, 32, 33]))
  const bytesN = /^bytes(\d+)$/.exec(param.type)
  if (bytesN) return randomHex(Number(bytesN[1]))
  const int = /^(u?)int(\d+)$/.exec(param.type)
  if (int) {
    const bits = Number(int[2])
    const signed = int[1] === ''
    const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n
    const min = signed ? -(1n << BigInt(bits - 1)) : 0n
    const raw = pick([0n, 1n, max, min, big(bits / 8) & max, -(big(bits / 8) & max)])
    const value = raw < min ? min : raw > max ? max : raw
    return bits <= 48 ? Number(value) : value
  }
  throw new Error(`no value for ${param.type}`)
}

/** Whether `param`'s encoding has no offsets (what decodeFunctionOutputs reads without viem). */
const isStatic = (param: AbiParameter): boolean => {
  if (param.type === 'tuple')
    return (param as { components: readonly AbiParameter[] }).components.every(isStatic)
  if (/^(string|bytes)$|\[\]$/.test(param.type)) return false
  const element = param.type.replace(/\[\d+\]$/, '')
  return element === param.type || isStatic({ ...param, type: element } as AbiParameter)
}

const fn = (outputs: readonly AbiParameter[]): AbiFunction => ({
  type: 'function',
  name: 'f',
  inputs: [],
  outputs,
  stateMutability: 'view',
})

/** viem's answer (or error) and ours, which must be the same. */
function both(outputs: readonly AbiParameter[], data: Hex) {
  const item = fn(outputs)
  const run = (decode: () => unknown) => {
    try {
      return { value: decode() }
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` }
    }
  }
  return {
    viem: run(() => decodeFunctionResult({ abi: [item], functionName: 'f', data })),
    ours: run(() => decodeFunctionOutputs(item, data)),
  }
}

describe('decodeFunctionOutputs', () => {
  it("decodes random values of random output types as viem's decodeFunctionResult does", () => {
    let statics = 0
    for (let i = 0; i < 2_000; i++) {
      const outputs = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        randomParam(0, random() < 0.5),
      )
      const data = encodeAbiParameters(outputs, outputs.map(randomValue))
      const { viem, ours } = both(outputs, data)
      expect(viem.error).toBeUndefined()
      // toStrictEqual tells a bigint from a number and an array from an object.
      expect(ours).toStrictEqual(viem)
      // The static ones are read without viem: the fast path is what was compared.
      if (outputs.every(isStatic)) {
        expect(decodeStaticParams(outputs, data)).toBeDefined()
        statics++
      }
    }
    expect(statics).toBeGreaterThan(300)
  })

  it('decodes the car-loan and registry views the engine reads, uppercase hex included', () => {
    for (const name of ['getLoan', 'policyOf', 'carStatus', 'isDelinquent', 'stageOf']) {
      const item = carLoanAbi.find((x) => x.type === 'function' && x.name === name) as AbiFunction
      for (let i = 0; i < 50; i++) {
        const data = encodeAbiParameters(item.outputs, item.outputs.map(randomValue))
        for (const hex of [data, `0x${data.slice(2).toUpperCase()}` as Hex])
          expect(decodeFunctionOutputs(item, hex)).toStrictEqual(
            decodeFunctionResult({ abi: carLoanAbi, functionName: name as 'getLoan', data: hex }),
          )
      }
    }
    const isOperator = deviceRegistryAbi.find((x) => x.type === 'function' && x.name === 'isOperator')
    for (const data of [`0x${'0'.repeat(64)}`, `0x${'0'.repeat(63)}1`] as const)
      expect(decodeFunctionOutputs(isOperator as AbiFunction, data)).toBe(data.endsWith('1'))
  })

  it('gives what viem gives, error or value, for answers that are short, malformed or out of range', () => {
    const word = (hex: string) => hex.padStart(64, '0')
    const cases: [string[], string][] = [
      [['uint256'], '0x'],
      [['uint256'], '0x1234'],
      [['uint256'], `0x${word('1')}${'0'.repeat(63)}`],
      [['uint256', 'address'], `0x${word('1')}`],
      [['bool'], `0x${word('2')}`],
      [['bool'], `0x${'f'.repeat(64)}`],
      [['uint8'], `0x${word('1ff')}`],
      [['uint48'], `0x${word('1'.padEnd(14, '0'))}`],
      [['uint48'], `0x${'f'.repeat(64)}`],
      [['int48'], `0x${word('8'.padEnd(20, '0'))}`],
      [['int8'], `0x${'f'.repeat(64)}`],
      [['address'], `0x${'f'.repeat(64)}`],
      [['uint256'], `0x${'zz'.repeat(32)}`],
      [['bytes32'], `0x${'AB'.repeat(32)}`],
      [['uint256'], `0x${word('1')}${'ab'.repeat(40)}`],
      [[], '0x'],
      [[], `0x${word('1')}`],
      [['uint256[0]'], '0x'],
      [['string'], '0x'],
    ]
    for (const [types, data] of cases) {
      const { viem, ours } = both(
        types.map((type) => ({ type, name: '' })),
        data as Hex,
      )
      expect(ours, `${types.join(',')} ${data}`).toStrictEqual(viem)
    }
  })
})
