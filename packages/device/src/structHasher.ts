import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils'
import { InvalidFieldError } from './errors/typedData.js'
import { keccak256 } from './keccak256.js'

/**
 * The EIP-712 field types pbj's structs use: flat structs of atomic types only.
 *
 * @example
 * const type: AtomicType = 'uint64'
 */
export type AtomicType = 'address' | 'bool' | 'bytes32' | 'string' | 'uint64' | 'uint256'

/**
 * One field of a struct, as in viem's `types` (`{ name: 'version', type: 'uint64' }`).
 *
 * @example
 * const field: StructField = { name: 'root', type: 'bytes32' }
 */
export type StructField = { readonly name: string; readonly type: AtomicType }

type ValueOf<T extends AtomicType> = T extends 'address'
  ? string
  : T extends 'bool'
    ? boolean
    : T extends 'bytes32'
      ? Uint8Array | string
      : T extends 'string'
        ? string
        : number | bigint

/**
 * The values a struct hasher takes: one per field, typed from the field's EIP-712 type.
 *
 * @example
 * const data: StructData<typeof pbjTypes.CommandBatch> = { root: '0x…' }
 */
export type StructData<F extends readonly StructField[]> = {
  [K in F[number] as K['name']]: ValueOf<K['type']>
}

const maxUint64 = 2n ** 64n - 1n
const maxUint256 = 2n ** 256n - 1n

/**
 * Returns a function computing EIP-712 `hashStruct` of one flat struct type, the same as viem's `hashStruct`
 * but about 4× faster: the type hash is computed once and each word is written straight into one buffer.
 * Signing a thousand commands in one batch is dominated by these hashes, hence the hand-written encoder; a
 * test checks it against viem on every field type.
 *
 * @example
 * const hashBatch = structHasher('CommandBatch', pbjTypes.CommandBatch)
 * const structHash = hashBatch({ root })
 */
export function structHasher<F extends readonly StructField[]>(
  primaryType: string,
  fields: F,
): (data: StructData<F>) => Uint8Array {
  const typeHash = keccak256(
    utf8ToBytes(`${primaryType}(${fields.map((f) => `${f.type} ${f.name}`).join(',')})`),
  )
  const size = 32 * (fields.length + 1)
  // Strings repeat from one struct to the next (the lock message, the reason): one remembered hash per field.
  const lastString = fields.map(() => ({ text: undefined as string | undefined, hash: new Uint8Array(32) }))
  return (data) => {
    const buffer = new Uint8Array(size)
    buffer.set(typeHash, 0)
    const view = new DataView(buffer.buffer)
    const values = data as Record<string, unknown>
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as StructField
      const value = values[field.name]
      const at = 32 * (i + 1)
      switch (field.type) {
        case 'address':
          buffer.set(addressBytes(field, value), at + 12)
          break
        case 'bool':
          if (typeof value !== 'boolean') throw invalid(field, value)
          buffer[at + 31] = value ? 1 : 0
          break
        case 'bytes32':
          buffer.set(bytes32(field, value), at)
          break
        case 'string': {
          if (typeof value !== 'string') throw invalid(field, value)
          const memo = lastString[i] as { text: string | undefined; hash: Uint8Array }
          if (memo.text !== value) {
            memo.hash = keccak256(utf8ToBytes(value))
            memo.text = value
          }
          buffer.set(memo.hash, at)
          break
        }
        case 'uint64':
        case 'uint256': {
          const max = field.type === 'uint64' ? maxUint64 : maxUint256
          if (typeof value === 'number') {
            if (!Number.isSafeInteger(value) || value < 0) throw invalid(field, value)
            view.setBigUint64(at + 24, BigInt(value))
          } else if (typeof value === 'bigint') {
            if (value < 0n || value > max) throw invalid(field, value)
            for (let b = 31, rest = value; rest > 0n; b--, rest >>= 8n) buffer[at + b] = Number(rest & 0xffn)
          } else throw invalid(field, value)
          break
        }
      }
    }
    return keccak256(buffer)
  }
}

/**
 * The EIP-712 digest to sign: `keccak256(0x1901 ‖ domainSeparator ‖ structHash)`.
 *
 * @example
 * const digest = typedDataDigest(domainSeparator, hashBatch({ root }))
 */
export function typedDataDigest(domainSeparator: Uint8Array, structHash: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(66)
  buffer[0] = 0x19
  buffer[1] = 0x01
  buffer.set(domainSeparator, 2)
  buffer.set(structHash, 34)
  return keccak256(buffer)
}

function addressBytes(field: StructField, value: unknown): Uint8Array {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw invalid(field, value)
  return hexToBytes(value.slice(2))
}

function bytes32(field: StructField, value: unknown): Uint8Array {
  if (value instanceof Uint8Array && value.length === 32) return value
  if (typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value)) return hexToBytes(value.slice(2))
  throw invalid(field, value)
}

function invalid(field: StructField, value: unknown): InvalidFieldError {
  return new InvalidFieldError({ field, value })
}
