import {
  type Abi,
  type AbiFunction,
  type AbiParameter,
  encodeFunctionData,
  getAbiItem,
  type Hex,
  isAddress,
  toFunctionSelector,
} from 'viem'
import { formatAbiItem } from 'viem/utils'

const intType =
  /^(u?)int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)$/
const zeroWord = '0'.repeat(64)
const oneWord = `${'0'.repeat(63)}1`

/** Selectors by function object (the config's and the device class's ABIs are the same objects every call). */
const selectorByItem = new WeakMap<object, Hex>()
/** Selectors by `name(type,…)` of elementary inputs (a function's ABI is copied out of its sandbox each call). */
const selectorBySignature = new Map<string, Hex>()
const maxSignatures = 4_096

/**
 * The function `functionName` of `abi` (picked by `args` among overloads, as viem picks it) and its call
 * data, equal byte for byte to viem's `encodeFunctionData`. viem looks the function up, formats its signature
 * and hashes it (the hash is cached, the formatting is not) on every call, then again to decode the answer;
 * here the function is looked up once, its selector kept, and arguments of the elementary types
 * (uint/int as bigints, addresses, bools) written straight as hex. Anything else — tuples, arrays, bytes,
 * numbers, an address viem would refuse, a function that is not found — is viem's to encode or refuse, so
 * its errors are what the caller gets. encodeFunctionCall.test.ts checks both against viem.
 *
 * @example
 * const { item, data } = encodeFunctionCall(carLoanAbi, 'getLoan', [1n])
 */
export function encodeFunctionCall(
  abi: Abi | readonly unknown[],
  functionName: string,
  args: readonly unknown[],
): { item: AbiFunction | undefined; data: Hex } {
  const found = getAbiItem({ abi, name: functionName, args } as Parameters<typeof getAbiItem>[0]) as
    | { type: string }
    | undefined
  const item = found?.type === 'function' ? (found as AbiFunction) : undefined
  const fast = item?.inputs && encodeElementaryArgs(item.inputs, args)
  if (item && fast !== undefined) return { item, data: `${selectorOf(item)}${fast}` }
  // Not found or not a function: viem throws its own error for it, naming the whole ABI.
  const data = encodeFunctionData({
    abi: item ? [item] : abi,
    functionName: item ? selectorOf(item) : functionName,
    args,
  } as Parameters<typeof encodeFunctionData>[0])
  return { item, data }
}

function selectorOf(item: AbiFunction): Hex {
  const known = selectorByItem.get(item)
  if (known) return known
  // A signature of elementary types is the function's canonical one: it names the selector.
  const signature = item.inputs?.every((p) => !('components' in p))
    ? `${item.name}(${item.inputs.map((p) => p.type).join(',')})`
    : undefined
  let selector = signature === undefined ? undefined : selectorBySignature.get(signature)
  if (!selector) {
    selector = toFunctionSelector(formatAbiItem(item))
    if (signature !== undefined) {
      if (selectorBySignature.size >= maxSignatures) selectorBySignature.clear()
      selectorBySignature.set(signature, selector)
    }
  }
  selectorByItem.set(item, selector)
  return selector
}

/** The arguments' words without `0x`, or undefined where viem must encode (or refuse) them. */
function encodeElementaryArgs(inputs: readonly AbiParameter[], args: readonly unknown[]): string | undefined {
  if (inputs.length !== args.length) return undefined
  let words = ''
  for (let i = 0; i < inputs.length; i++) {
    const word = encodeElementary((inputs[i] as AbiParameter).type, args[i])
    if (word === undefined) return undefined
    words += word
  }
  return words
}

function encodeElementary(type: string, value: unknown): string | undefined {
  if (type === 'address')
    return typeof value === 'string' && isAddress(value)
      ? value.slice(2).toLowerCase().padStart(64, '0')
      : undefined
  if (type === 'bool') return value === true ? oneWord : value === false ? zeroWord : undefined
  const int = intType.exec(type)
  if (!int || typeof value !== 'bigint') return undefined
  const bits = BigInt(int[2] as string)
  const signed = int[1] === ''
  const max = (1n << (signed ? bits - 1n : bits)) - 1n
  const min = signed ? -max - 1n : 0n
  if (value > max || value < min) return undefined
  return BigInt.asUintN(256, value).toString(16).padStart(64, '0')
}
