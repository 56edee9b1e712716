import { DeviceError } from '../DeviceError.js'

/**
 * A value the EIP-712 struct hasher cannot encode as its field's type. The message names the field and
 * the expected shape, so a caller building commands by hand sees which field is wrong.
 *
 * @example
 * throw new InvalidFieldError({ field: { name: 'root', type: 'bytes32' }, value: '0x00' })
 */
export class InvalidFieldError extends DeviceError {
  override name = 'InvalidFieldError'
  /** The field as the struct declares it (`StructField`). */
  readonly field: { readonly name: string; readonly type: string }
  constructor(params: { field: { readonly name: string; readonly type: string }; value: unknown }) {
    const { field, value } = params
    super(
      field.type === 'address'
        ? `${field.name} must be a 0x address, got ${String(value)}`
        : field.type === 'bytes32'
          ? `${field.name} must be 32 bytes, got ${String(value)}`
          : `${field.name} is not a valid ${field.type}: ${String(value)}`,
    )
    this.field = field
  }
}

/**
 * A signing domain that cannot be right: a chainId that is not a positive integer, or a registry that is
 * not an address. Caught at construction, since every signature under it would be refused.
 *
 * @example
 * throw new InvalidDomainError({ field: 'chainId', value: 0 })
 */
export class InvalidDomainError extends DeviceError {
  override name = 'InvalidDomainError'
  constructor(params: { field: 'chainId'; value: number } | { field: 'registry'; value: string }) {
    super(
      params.field === 'chainId'
        ? `chainId must be a positive integer, got ${params.value}`
        : `registry must be the DeviceRegistry's 0x address, got "${params.value}"`,
    )
  }
}

/**
 * A Merkle tree asked for something it cannot give: built from no leaves, or a proof for a leaf it lacks.
 *
 * @example
 * throw new MerkleTreeError({ reason: 'no-leaf', index: 13, leaves: 8 })
 */
export class MerkleTreeError extends DeviceError {
  override name = 'MerkleTreeError'
  constructor(params: { reason: 'empty' } | { reason: 'no-leaf'; index: number; leaves: number }) {
    super(
      params.reason === 'empty'
        ? 'a Merkle tree needs at least one leaf'
        : `no leaf ${params.index} in a tree of ${params.leaves}`,
    )
  }
}
