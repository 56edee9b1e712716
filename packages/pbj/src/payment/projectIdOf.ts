import { type Address, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem'

/**
 * A project name as ExecutionBalance takes it: a 0x-prefixed bytes32 as is, any other text hashed
 * (keccak256 of its UTF-8 bytes), so `pbj-demo` and `0x…` both work in the config.
 *
 * @example
 * saltOf('my-fleet') // keccak256(toHex('my-fleet'))
 */
export function saltOf(salt: string): Hex {
  return /^0x[0-9a-fA-F]{64}$/.test(salt) ? (salt as Hex) : keccak256(toHex(salt))
}

/**
 * The id of `owner`'s project named `salt`, as `ExecutionBalance.projectIdOf` computes it:
 * keccak256(abi.encode(owner, salt)). Bound to the owner, so nobody else can open (and own) it first.
 *
 * @example
 * projectIdOf('0x7099…79C8', 'my-fleet') // '0x…'
 */
export function projectIdOf(owner: Address, salt: string): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [owner, saltOf(salt)]))
}
