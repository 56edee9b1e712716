import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import { merkleRoot } from './buildMerkleTree.js'
import type { TypedHashes } from './createTypedHashes.js'
import type { DesiredMessage } from './protocol.js'
import { recoverSignerKey, type SignerKey, verifySignerKey } from './recoverSigner.js'

/**
 * Why a car refused a desired message, in the order it checks:
 * `malformed` (not a readable, complete message), `wrong-device` (for another car), `not-yet-valid` /
 * `expired` (outside notBefore–expiresAt by the car's clock), `bad-proof` (the command is not under the
 * signed root), `bad-signature` (the signature is not the claimed signer's: forged or mangled),
 * `unauthorized` (the signer is not an operator of this car in DeviceRegistry), `unverifiable` (the registry
 * could not be read; retried), `rate-limited` (the signer is not a known operator and the car is looking
 * up no more unknown signers for now: a flood of validly signed junk), `overloaded` (the queue of commands
 * from signers the car does not know as operators is full), `replay` (this command id was already
 * applied), `stale` (version not above the one applied).
 *
 * @example
 * const code: RefusalCode = 'unauthorized'
 */
export type RefusalCode =
  | 'malformed'
  | 'wrong-device'
  | 'not-yet-valid'
  | 'expired'
  | 'bad-proof'
  | 'bad-signature'
  | 'unauthorized'
  | 'unverifiable'
  | 'not-delinquent'
  | 'rate-limited'
  | 'overloaded'
  | 'replay'
  | 'stale'

/**
 * A refusal: its code and a sentence saying what was wrong.
 *
 * @example
 * const refusal: Refusal = { code: 'expired', reason: 'command expired at 2025-01-01T00:10:00.000Z …' }
 */
export type Refusal = { code: RefusalCode; reason: string }

/**
 * The checks of a desired message that need no chain: addressed to this car, valid now, its command under
 * the signed root, and signed by the signer it names. Returns that signer (lowercase); whether the signer
 * may command this car is for the registry ({@link createOperatorCheck}). One public-key recovery per
 * message, after the cheap checks, so junk costs microseconds.
 *
 * `signedState` is the state as it came off the wire (`parseDesired(...).json.state`), unknown keys
 * included, since that is what the operator signed; it defaults to the parsed `message.state`. `keys`:
 * signers whose key is known and prepared (see prepareSignerKey) are checked without recovering their key;
 * otherwise the recovered key is returned, to be prepared once the signer proves to be an operator.
 *
 * @example
 * const result = verifyDesired(message, { deviceId, hashes, now: Date.now() })
 * if (!result.ok) return refuse(result)
 */
export function verifyDesired(
  message: DesiredMessage,
  context: {
    deviceId: string
    hashes: TypedHashes
    now: number
    signedState?: unknown
    keys?: ReadonlyMap<string, SignerKey>
  },
): { ok: true; signer: string; publicKey?: Uint8Array } | ({ ok: false } & Refusal) {
  const { deviceId, hashes, now } = context
  if (message.deviceId !== deviceId) {
    return refuse('wrong-device', `desired message is for ${message.deviceId}, not this car`)
  }
  if (now < message.notBefore) {
    return refuse(
      'not-yet-valid',
      `command ${message.commandId} is not valid before ${iso(message.notBefore)} (car clock ${iso(now)})`,
    )
  }
  if (now > message.expiresAt) {
    return refuse(
      'expired',
      `command ${message.commandId} expired at ${iso(message.expiresAt)} (car clock ${iso(now)})`,
    )
  }
  const { auth } = message
  const root = merkleRoot(
    hashes.commandLeaf({ ...message, state: context.signedState ?? message.state }),
    auth.proof.map((node) => hexToBytes(node.slice(2))),
  )
  const computed = `0x${bytesToHex(root)}`
  if (computed !== auth.root.toLowerCase()) {
    return refuse(
      'bad-proof',
      `proof does not match root: the command leads to ${computed}, not ${auth.root}`,
    )
  }
  const digest = hashes.batchDigest(root)
  const signer = auth.signer.toLowerCase()
  const known = context.keys?.get(signer)
  if (known && verifySignerKey(digest, auth.signature, known)) return { ok: true, signer }
  // Unknown signer, or a signature its known key did not make: recovering says whose it is.
  const recovered = recoverSignerKey(digest, auth.signature)
  if (recovered === null) {
    return refuse('bad-signature', 'invalid signature: not a canonical secp256k1 signature')
  }
  if (recovered.address !== signer) {
    return refuse(
      'bad-signature',
      `invalid signature: not made by ${signer} (it recovers to ${recovered.address})`,
    )
  }
  return { ok: true, signer, publicKey: recovered.publicKey }
}

function refuse(code: RefusalCode, reason: string): { ok: false } & Refusal {
  return { ok: false, code, reason }
}

function iso(ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString()
}
