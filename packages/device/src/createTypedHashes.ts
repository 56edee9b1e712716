import { utf8ToBytes } from '@noble/hashes/utils'
import { canonicalJson } from './canonicalJson.js'
import { keccak256 } from './keccak256.js'
import type { PbjDomain } from './pbjDomain.js'
import { pbjTypes } from './pbjDomain.js'
import type { ReportedMessage, UnsignedCommand } from './protocol.js'
import { structHasher, typedDataDigest } from './structHasher.js'

/**
 * A command's signed fields: the unsigned command plus its validity window. `state` is any JSON object:
 * the engine's desired state, or what the car read off the wire (unknown keys included).
 *
 * @example
 * const fields: CommandFields = { ...command, notBefore: now - 60_000, expiresAt: now + 600_000 }
 */
export type CommandFields = Omit<UnsignedCommand, 'state'> & {
  state: unknown
  notBefore: number
  expiresAt: number
}

/**
 * A report's signed fields; `state` as in {@link CommandFields}.
 *
 * @example
 * const fields: ReportFields = { deviceId, version: 3, commandId: 'c3', state: { locked: true }, appliedAt }
 */
export type ReportFields = Pick<
  ReportedMessage,
  'deviceId' | 'version' | 'commandId' | 'appliedAt' | 'error'
> & {
  state: unknown
}

/**
 * The hashes of pbj's EIP-712 messages in one domain. See {@link createTypedHashes}.
 *
 * @example
 * const leaf = hashes.commandLeaf(fields)
 */
export type TypedHashes = {
  domain: PbjDomain
  /** The `DesiredCommand` struct hash of a command: its leaf in a batch's Merkle tree. */
  commandLeaf(command: CommandFields): Uint8Array
  /** The digest the operator signs for a batch: EIP-712 `CommandBatch { root }`. */
  batchDigest(root: Uint8Array): Uint8Array
  /** The digest a device signs for a report: EIP-712 `Report`. */
  reportDigest(report: ReportFields): Uint8Array
}

const domainHasher = structHasher('EIP712Domain', [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
] as const)

/**
 * `keccak256(canonicalJson(state))`: how a state (desired or reported) is signed.
 *
 * @example
 * stateHash({ locked: true, message: LOCK_MESSAGE })
 */
export function stateHash(state: unknown): Uint8Array {
  return keccak256(utf8ToBytes(canonicalJson(state)))
}

/**
 * Precomputes a domain's separator and returns the hashes of commands, batches and reports in it, each
 * equal to viem's `hashStruct` / `hashTypedData` with {@link pbjTypes} (a test checks it).
 *
 * @example
 * const hashes = createTypedHashes(pbjDomain({ chainId, registry }))
 * const digest = hashes.batchDigest(tree.root)
 */
export function createTypedHashes(domain: PbjDomain): TypedHashes {
  const separator = domainHasher(domain)
  const hashCommand = structHasher('DesiredCommand', pbjTypes.DesiredCommand)
  const hashBatch = structHasher('CommandBatch', pbjTypes.CommandBatch)
  const hashReport = structHasher('Report', pbjTypes.Report)
  // A batch's commands mostly share one state (a thousand identical locks): hash it once.
  let last: { text: string; hash: Uint8Array } | undefined
  const hashState = (state: unknown) => {
    const text = canonicalJson(state)
    if (last?.text !== text) last = { text, hash: keccak256(utf8ToBytes(text)) }
    return last.hash
  }
  return {
    domain,
    commandLeaf: (command) =>
      hashCommand({
        device: command.deviceId,
        version: command.version,
        commandId: command.commandId,
        state: hashState(command.state),
        chainBlock: command.chainBlock ?? 0,
        chainTime: command.chainTime,
        notBefore: command.notBefore,
        expiresAt: command.expiresAt,
      }),
    batchDigest: (root) => typedDataDigest(separator, hashBatch({ root })),
    reportDigest: (report) =>
      typedDataDigest(
        separator,
        hashReport({
          device: report.deviceId,
          version: report.version,
          commandId: report.commandId ?? '',
          state: hashState(report.state),
          appliedAt: report.appliedAt,
          error: report.error ?? '',
        }),
      ),
  }
}
