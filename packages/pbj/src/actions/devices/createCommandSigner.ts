import { bytesToHex } from '@noble/hashes/utils'
import {
  addressOf,
  buildMerkleTree,
  createTypedHashes,
  type DesiredMessage,
  type PbjDomain,
  signDigest,
  type UnsignedCommand,
} from '@pbj/device'
import { InvalidOperatorKeyError } from '../../internal/errors.js'

/**
 * Options of {@link createCommandSigner}.
 *
 * @example
 * const options: CommandSignerOptions = { operatorKey, domain: pbjDomain({ chainId, registry }) }
 */
export type CommandSignerOptions = {
  /** The engine's operator key; its address must be an operator of each car in DeviceRegistry. */
  operatorKey: string
  domain: PbjDomain
  /** How long a signed command stays valid, in wall-clock ms. Default 10 minutes. */
  validityMs?: number
  /** How far `notBefore` is set in the past, for cars whose clock runs behind. Default 60 s. */
  clockSkewMs?: number
}

/**
 * Signs commands in batches. See {@link createCommandSigner}.
 *
 * @example
 * const [message] = signer.sign([{ deviceId, version: 1, commandId: 'c1', state, chainTime }])
 */
export type CommandSigner = {
  /** The operator's address (lowercase). */
  address: string
  /**
   * Signs the commands as one batch, valid from `now - clockSkewMs` to `now + validityMs`, and returns the
   * desired messages in the same order. Synchronous: ~0.1 ms with libsecp256k1 (~0.6 ms in pure JS) plus
   * ~0.06 ms per command.
   */
  sign(commands: readonly UnsignedCommand[], now?: number): DesiredMessage[]
}

/**
 * Makes the engine's command signer. A batch costs one ECDSA signature whatever its size: each command's
 * EIP-712 `DesiredCommand` struct hash is a leaf of a Merkle tree (sorted pairs, as OpenZeppelin's
 * `MerkleProof`), the operator key signs EIP-712 `CommandBatch { root }`, and each message carries its own
 * fields, the root, its proof and the one signature. A car verifies its message alone: leaf → proof →
 * root → signature → signer. So a thousand cars falling delinquent in one block cost one signature, not a
 * thousand (~1 ms each in pure JS).
 *
 * @example
 * const signer = createCommandSigner({ operatorKey, domain: pbjDomain({ chainId, registry }) })
 * const messages = signer.sign(commands)
 * for (const message of messages) await broker.publishDesired(message)
 */
export function createCommandSigner(options: CommandSignerOptions): CommandSigner {
  let address: string
  try {
    address = addressOf(options.operatorKey)
  } catch (cause) {
    throw new InvalidOperatorKeyError({ cause })
  }
  const hashes = createTypedHashes(options.domain)
  const validityMs = options.validityMs ?? 10 * 60_000
  const clockSkewMs = options.clockSkewMs ?? 60_000
  return {
    address,
    sign(commands, now = Date.now()) {
      if (commands.length === 0) return []
      const notBefore = Math.max(0, now - clockSkewMs)
      const expiresAt = now + validityMs
      // Every message carries its block number, 0 when none caused it, so the car reads it as signed.
      const fields = commands.map((command) => ({
        ...command,
        chainBlock: command.chainBlock ?? 0,
        notBefore,
        expiresAt,
      }))
      const tree = buildMerkleTree(fields.map(hashes.commandLeaf))
      const signature = signDigest(hashes.batchDigest(tree.root), options.operatorKey)
      const root = `0x${bytesToHex(tree.root)}`
      // Inner nodes appear in many proofs: each is turned into hex once.
      const hex = new Map<Uint8Array, string>()
      const toHex = (node: Uint8Array) => {
        let text = hex.get(node)
        if (text === undefined) {
          text = `0x${bytesToHex(node)}`
          hex.set(node, text)
        }
        return text
      }
      return fields.map((command, index) => ({
        type: 'desired',
        ...command,
        auth: { signer: address, root, proof: tree.proof(index).map(toHex), signature },
      }))
    },
  }
}
