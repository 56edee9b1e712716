import { InvalidDomainError } from './errors/typedData.js'

/**
 * The EIP-712 domain every pbj command and device report is signed in: one chain, one DeviceRegistry. A
 * signature made for another chain or another registry does not verify here.
 *
 * @example
 * const domain: PbjDomain = { name: 'pbj', version: '1', chainId: 31337, verifyingContract: '0x5FbD…' }
 */
export type PbjDomain = {
  name: 'pbj'
  version: '1'
  chainId: number
  verifyingContract: `0x${string}`
}

/**
 * The EIP-712 types of the protocol, in viem's format (so `hashTypedData` / `verifyTypedData` from viem or
 * any EIP-712 library give the same digests as pbj's own fast hashing).
 *
 * - `DesiredCommand`: one device's command; its struct hash is a leaf of a batch's Merkle tree. `state` is
 *   `keccak256(canonicalJson(state))`, so every field of the state (lock, reason, message, immobilizer,
 *   fields added later) is signed without this type changing. `chainBlock`: the number of the block that
 *   caused the command (0 if none), which the car places the command by; times: `chainTime` in unix
 *   seconds (that block's timestamp), `notBefore` and `expiresAt` in unix milliseconds of the wall clock.
 * - `CommandBatch`: what the operator key signs, once per batch: the Merkle root of its commands' leaves.
 * - `Report`: what a device signs with its own key; `state` hashed as above, `commandId` and `error` are
 *   `''` when absent.
 *
 * @example
 * await account.signTypedData({ domain, types: pbjTypes, primaryType: 'CommandBatch', message: { root } })
 */
export const pbjTypes = {
  DesiredCommand: [
    { name: 'device', type: 'address' },
    { name: 'version', type: 'uint64' },
    { name: 'commandId', type: 'string' },
    { name: 'state', type: 'bytes32' },
    { name: 'chainBlock', type: 'uint64' },
    { name: 'chainTime', type: 'uint64' },
    { name: 'notBefore', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
  CommandBatch: [{ name: 'root', type: 'bytes32' }],
  Report: [
    { name: 'device', type: 'address' },
    { name: 'version', type: 'uint64' },
    { name: 'commandId', type: 'string' },
    { name: 'state', type: 'bytes32' },
    { name: 'appliedAt', type: 'uint64' },
    { name: 'error', type: 'string' },
  ],
} as const

/**
 * Builds the domain for a chain and its DeviceRegistry.
 *
 * @example
 * const domain = pbjDomain({ chainId: 31337, registry: deployment.contracts.DeviceRegistry })
 */
export function pbjDomain(params: { chainId: number; registry: string }): PbjDomain {
  if (!Number.isSafeInteger(params.chainId) || params.chainId <= 0) {
    throw new InvalidDomainError({ field: 'chainId', value: params.chainId })
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(params.registry)) {
    throw new InvalidDomainError({ field: 'registry', value: params.registry })
  }
  return {
    name: 'pbj',
    version: '1',
    chainId: params.chainId,
    verifyingContract: params.registry.toLowerCase() as `0x${string}`,
  }
}
