import { type Hex, toFunctionSelector } from 'viem'
import { aggregate3Abi } from './multicall3.js'

/** One sub-call of `aggregate3`, and one of its results. */
export type Aggregate3Call = { target: Hex; callData: Hex }
export type Aggregate3Result = { success: boolean; returnData: Hex }

/** Thrown when a node's answer is not an `aggregate3` result: the batcher then sends each call alone. */
export class Aggregate3DecodeError extends Error {
  override name = 'Aggregate3DecodeError'
}

const selector = toFunctionSelector(aggregate3Abi[0]).slice(2)
const word = (n: number) => n.toString(16).padStart(64, '0')
const zeroWord = word(0)
const trueWord = word(1)

/**
 * `aggregate3(calls)` calldata with every `allowFailure` true, written straight as hex. Equal, byte for
 * byte, to viem's `encodeFunctionData` (aggregate3Codec.test.ts checks it), at a fraction of the cost:
 * viem's generic encoder and decoder were ~40 % of the engine's CPU per batched read (profiled with
 * bench/chain/readCpu.ts), and a block with a thousand runs sends thousands of sub-calls.
 *
 * @example
 * const data = encodeAggregate3([{ target: carLoan, callData: '0x…' }])
 */
export function encodeAggregate3(calls: readonly Aggregate3Call[]): Hex {
  const heads: string[] = []
  const tails: string[] = []
  let offset = 32 * calls.length
  for (const { target, callData } of calls) {
    heads.push(word(offset))
    const bytes = (callData.length - 2) / 2
    const padded = Math.ceil(bytes / 32) * 64
    tails.push(
      target.slice(2).toLowerCase().padStart(64, '0'),
      trueWord,
      word(96),
      word(bytes),
      callData.slice(2).padEnd(padded, '0'),
    )
    offset += 128 + padded / 2
  }
  return `0x${selector}${word(32)}${word(calls.length)}${heads.join('')}${tails.join('')}`
}

/**
 * Decodes `aggregate3`'s `(bool success, bytes returnData)[]` in one pass over the hex, slicing each
 * result's bytes out instead of converting the whole answer to bytes and back (what viem's decoder does).
 * Throws {@link Aggregate3DecodeError} on anything that is not a well-formed answer of `count` results.
 */
export function decodeAggregate3(data: Hex, count: number): Aggregate3Result[] {
  const body = data.slice(2)
  const at = (byte: number): number => {
    const start = byte * 2
    if (start + 64 > body.length) throw new Aggregate3DecodeError('aggregate3 answer too short')
    const high = body.slice(start, start + 48)
    if (high !== zeroWord.slice(0, 48)) throw new Aggregate3DecodeError('aggregate3 word out of range')
    return Number.parseInt(body.slice(start + 48, start + 64), 16)
  }
  const array = at(0)
  if (at(array) !== count) throw new Aggregate3DecodeError('aggregate3 answer has the wrong length')
  const base = array + 32
  const results: Aggregate3Result[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const tuple = base + at(base + 32 * i)
    const success = at(tuple)
    if (success > 1) throw new Aggregate3DecodeError('aggregate3 success is not a bool')
    const bytesAt = tuple + at(tuple + 32)
    const length = at(bytesAt)
    const start = (bytesAt + 32) * 2
    if (start + length * 2 > body.length) throw new Aggregate3DecodeError('aggregate3 answer too short')
    results[i] = { success: success === 1, returnData: `0x${body.slice(start, start + length * 2)}` }
  }
  return results
}
