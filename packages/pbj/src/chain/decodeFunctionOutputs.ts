import { type AbiFunction, type AbiParameter, checksumAddress, decodeAbiParameters, type Hex } from 'viem'

/** What a static parameter could not be decoded as here: viem decodes the whole answer instead. */
const viemDecodes = Symbol('viemDecodes')
type Decoded = unknown | typeof viemDecodes

const hexData = /^0x(?:[0-9a-fA-F]{2})*$/
const intType = /^(u?)int(\d*)$/
const fixedBytesType = /^bytes(\d+)$/
const fixedArrayType = /^(.*)\[(\d+)\]$/
const zeroWord = '0'.repeat(64)
const oneWord = `${'0'.repeat(63)}1`
/** A uint of up to 48 bits (what viem gives as a number) whose word has only its last 12 digits set. */
const smallUintZeros = zeroWord.slice(0, 52)

/**
 * The answer of a view, decoded as viem's `decodeFunctionResult` decodes it (the one output's value, an
 * array of several, undefined for none), straight from the node's hex. viem converts the whole answer to
 * bytes, then every word back to hex to make its bigint: ~8 KB of garbage per read, half of what a
 * contract read allocated in a fleet's block (heap profile of the fleet lock window). The common static
 * types — uint/int, address, bool, bytes1–32, tuples and fixed arrays of them — are read here from the hex;
 * anything else (strings, dynamic arrays, a malformed or short answer, a value viem would refuse) goes to
 * viem's decoder, so its values and its errors are what the caller gets. decodeFunctionOutputs.test.ts
 * checks both against viem on many random values and malformed answers.
 *
 * @example
 * decodeFunctionOutputs(getAbiItem({ abi, name: 'getLoan' }), raw) // { borrower: '0xAb…', installment: 10n, … }
 */
export function decodeFunctionOutputs(item: Pick<AbiFunction, 'outputs'>, data: Hex): unknown {
  const values = decodeStaticParams(item.outputs, data) ?? decodeAbiParameters(item.outputs, data)
  if (values.length > 1) return values
  return values.length === 1 ? values[0] : undefined
}

/**
 * The values of `params` from `data` read here, or undefined where viem must decode them (exported for the
 * test, which checks that the common types do not fall back).
 */
export function decodeStaticParams(params: readonly AbiParameter[], data: string): unknown[] | undefined {
  if (params.length === 0 || !hexData.test(data)) return undefined
  const cursor = { data, word: 0 }
  const values: unknown[] = new Array(params.length)
  for (let i = 0; i < params.length; i++) {
    const value = decodeParam(params[i] as AbiParameter, cursor)
    if (value === viemDecodes) return undefined
    values[i] = value
  }
  return values
}

type Cursor = { data: string; word: number }

/** The next word of the answer as 64 hex digits, or undefined past its end (viem then says so). */
function nextWord(cursor: Cursor): string | undefined {
  const start = 2 + cursor.word * 64
  if (start + 64 > cursor.data.length) return undefined
  cursor.word++
  return cursor.data.slice(start, start + 64)
}

function decodeParam(param: AbiParameter, cursor: Cursor): Decoded {
  const { type } = param
  if (type === 'address') {
    const word = nextWord(cursor)
    return word === undefined ? viemDecodes : checksumAddress(`0x${word.slice(24).toLowerCase()}`)
  }
  if (type === 'bool') {
    const word = nextWord(cursor)
    return word === zeroWord ? false : word === oneWord ? true : viemDecodes
  }
  if (type === 'tuple')
    return decodeTuple(param as AbiParameter & { components?: readonly AbiParameter[] }, cursor)
  const int = intType.exec(type)
  if (int) return decodeInt(int[1] === '', Number.parseInt(int[2] || '256', 10), cursor)
  const bytes = fixedBytesType.exec(type)
  if (bytes) {
    const size = Number(bytes[1])
    const word = size >= 1 && size <= 32 ? nextWord(cursor) : undefined
    return word === undefined ? viemDecodes : `0x${word.slice(0, size * 2).toLowerCase()}`
  }
  const array = fixedArrayType.exec(type)
  if (array) {
    const length = Number(array[2])
    if (length === 0) return viemDecodes
    const element = { ...param, type: array[1] as string } as AbiParameter
    const values: unknown[] = new Array(length)
    for (let i = 0; i < length; i++) {
      const value = decodeParam(element, cursor)
      if (value === viemDecodes) return viemDecodes
      values[i] = value
    }
    return values
  }
  return viemDecodes
}

/** viem's numbers: a bigint above 48 bits, a number up to 48 (anything out of range is viem's to refuse). */
function decodeInt(signed: boolean, bits: number, cursor: Cursor): Decoded {
  const word = nextWord(cursor)
  if (word === undefined) return viemDecodes
  if (!signed) {
    if (bits > 48) return BigInt(`0x${word}`)
    return word.startsWith(smallUintZeros) ? Number.parseInt(word.slice(52), 16) : viemDecodes
  }
  const value = BigInt.asIntN(256, BigInt(`0x${word}`))
  if (bits > 48) return value
  const number = Number(value)
  return Number.isSafeInteger(number) ? number : viemDecodes
}

/** A static tuple: an object by component name, or an array when a component has no name (as viem). */
function decodeTuple(
  param: AbiParameter & { components?: readonly AbiParameter[] },
  cursor: Cursor,
): Decoded {
  const components = param.components ?? []
  if (components.length === 0) return viemDecodes
  const named = components.every((c) => c.name)
  const value: Record<string, unknown> | unknown[] = named ? {} : new Array(components.length)
  for (let i = 0; i < components.length; i++) {
    const component = components[i] as AbiParameter
    const decoded = decodeParam(component, cursor)
    if (decoded === viemDecodes) return viemDecodes
    if (named) (value as Record<string, unknown>)[component.name as string] = decoded
    else (value as unknown[])[i] = decoded
  }
  return value
}
