import { messageOf } from '@pbj/internal/messageOf.js'
import { z } from 'zod'
import { InvalidTopicError } from './errors/options.js'
import { ImmobilizerCommand, ImmobilizerReport } from './immobilizerProtocol.js'

/**
 * What a car shows when pbj locks it for a missed payment.
 *
 * @example
 * const state: DesiredState = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }
 */
export const LOCK_MESSAGE =
  "You missed your car payment and the vehicle is locked. Please reload your car's wallet."

/**
 * Topic prefix used when none is configured.
 *
 * @example
 * topics(DEFAULT_TOPIC_PREFIX).desired('0xab…') // 'pbj/devices/0xab…/desired'
 */
export const DEFAULT_TOPIC_PREFIX = 'pbj'

// Topics are case-sensitive, so one spelling (lowercase) is enforced everywhere; a checksummed address
// would silently address a topic nobody listens on.
const DeviceId = z.string().regex(/^0x[0-9a-f]{40}$/, 'must be a lowercase 0x address (40 hex digits)')
const EpochMs = z.number().int().nonnegative()
const CommandId = z.string().min(1).max(200)
const DisplayMessage = z.string().max(1000)

/**
 * The state the engine wants a device in. Unknown keys are stripped so older cars accept newer engines.
 *
 * @example
 * DesiredState.parse({ locked: true, reason: 'missed-payment', message: LOCK_MESSAGE })
 */
export const DesiredState = z.object({
  locked: z.boolean(),
  reason: z.string().max(200).optional(),
  message: DisplayMessage.optional(),
  /** The immobilizer stage (warning, final warning, disable) with the loan's policy: see immobilizer.ts. */
  immobilizer: ImmobilizerCommand.optional(),
})
export type DesiredState = z.infer<typeof DesiredState>

const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address (40 hex digits)')
const Bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes as 0x + 64 hex digits')
const Signature = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature as 0x + 130 hex digits')

/**
 * The operator's signature over a command, shared by every command of one batch: `signature` is the
 * `signer`'s EIP-712 signature of `CommandBatch { root }`, and `proof` leads from this command's
 * `DesiredCommand` struct hash (the leaf) to `root`. A batch of one has `root` = the leaf and no proof.
 *
 * @example
 * const auth: CommandAuth = { signer: '0x3c44…', root: '0x…', proof: [], signature: '0x…' }
 */
export const CommandAuth = z.object({
  signer: Address,
  root: Bytes32,
  // 2^32 commands per batch is far beyond any fleet; the cap bounds the work a forged message can cause.
  proof: z.array(Bytes32).max(32),
  signature: Signature,
})
export type CommandAuth = z.infer<typeof CommandAuth>

/**
 * Engine → device command, published QoS 1 retained on `topics(prefix).desired(deviceId)`.
 * `version` grows per device so the car can drop stale or replayed commands. Every field but `type` and
 * `auth` is signed (EIP-712 `DesiredCommand`, see `pbjTypes`): `chainBlock` is the number of the block that
 * caused the command (0 when none did) and `chainTime` its timestamp (unix seconds): the car places the
 * command against its view of DeviceRegistry by the block number, since blocks can share a timestamp
 * (Arbitrum); a message without `chainBlock` (an older engine) reads as 0. `notBefore` and `expiresAt` bound, in wall-clock unix ms, when the
 * car accepts it (chain time can jump months ahead on a test chain, so validity never uses it).
 *
 * @example
 * const message: DesiredMessage = {
 *   type: 'desired', deviceId, version: 3, commandId: 'loan-7-block-120',
 *   state: { locked: true, message: LOCK_MESSAGE }, chainBlock: 120, chainTime: 1760000000,
 *   notBefore: Date.now() - 60_000, expiresAt: Date.now() + 600_000, auth,
 * }
 */
export const DesiredMessage = z.object({
  type: z.literal('desired'),
  deviceId: DeviceId,
  version: z.number().int().min(1),
  commandId: CommandId,
  state: DesiredState,
  chainBlock: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  chainTime: z.number().int().nonnegative(),
  notBefore: EpochMs,
  expiresAt: EpochMs,
  auth: CommandAuth,
})
export type DesiredMessage = z.infer<typeof DesiredMessage>

/**
 * A command before it is signed: what the engine's dispatcher hands its signer. `chainBlock` defaults to 0
 * (no block caused it: the car then places the command by `chainTime` alone, as cautiously as before).
 *
 * @example
 * const command: UnsignedCommand = { deviceId, version: 3, commandId, state: { locked: true }, chainBlock, chainTime }
 */
export type UnsignedCommand = Pick<
  DesiredMessage,
  'deviceId' | 'version' | 'commandId' | 'state' | 'chainTime'
> & { chainBlock?: number }

/**
 * The state a device says it is in.
 *
 * @example
 * ReportedState.parse({ locked: false })
 */
export const ReportedState = z.object({
  locked: z.boolean(),
  message: DisplayMessage.optional(),
  /** What the immobilizer does: stage, immobilized, pending disable, emergency restarts left. */
  immobilizer: ImmobilizerReport.optional(),
})
export type ReportedState = z.infer<typeof ReportedState>

/**
 * Device → engine report, published QoS 1 retained on `topics(prefix).reported(deviceId)`. A report whose
 * `version` reaches the desired version is the acknowledgement of that command. `error` says why the last
 * desired message was refused, if it was. `signature` is the device key's EIP-712 signature of `Report`
 * (see `pbjTypes`), so the engine knows the acknowledgement comes from the car itself.
 *
 * @example
 * const ack: ReportedMessage = {
 *   type: 'reported', deviceId, version: 3, commandId: 'loan-7-block-120',
 *   state: { locked: true, message: LOCK_MESSAGE }, appliedAt: Date.now(), signature,
 * }
 */
export const ReportedMessage = z.object({
  type: z.literal('reported'),
  deviceId: DeviceId,
  version: z.number().int().min(0),
  commandId: CommandId.nullable(),
  state: ReportedState,
  appliedAt: EpochMs,
  error: z.string().max(1000).optional(),
  signature: Signature,
})
export type ReportedMessage = z.infer<typeof ReportedMessage>

/**
 * Outcome of reading a message off the wire; malformed input is a value, never an exception.
 *
 * @example
 * const result: ParseResult<DesiredMessage> = parseDesired(payload)
 * if (!result.ok) console.warn(result.error)
 */
export type ParseResult<T> =
  | {
      ok: true
      value: T
      /** The JSON as received, unknown keys included: what signatures are checked against. */
      json: unknown
    }
  | { ok: false; error: string }

/**
 * The MQTT topics of the protocol under one prefix.
 *
 * @example
 * const t: Topics = topics('pbj')
 */
export type Topics = {
  /** Engine → device, retained. */
  desired(deviceId: string): string
  /** Device → engine, retained; the acknowledgement. */
  reported(deviceId: string): string
  /** Wildcard subscription for every device's report. */
  allReported: string
}

/**
 * Builds the topic names for a prefix. Device ids are lowercased so checksummed addresses still match.
 *
 * @example
 * topics('pbj').desired('0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B')
 * // 'pbj/devices/0xab5801a7d398351b8be11c439e05c5b3259aec9b/desired'
 */
export function topics(prefix: string = DEFAULT_TOPIC_PREFIX): Topics {
  if (prefix === '' || /[+#\0]/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/')) {
    throw new InvalidTopicError({ part: 'topicPrefix', value: prefix })
  }
  const device = (deviceId: string): string => {
    const id = deviceId.toLowerCase()
    if (!DeviceId.safeParse(id).success) throw new InvalidTopicError({ part: 'deviceId', value: deviceId })
    return `${prefix}/devices/${id}`
  }
  return {
    desired: (deviceId) => `${device(deviceId)}/desired`,
    reported: (deviceId) => `${device(deviceId)}/reported`,
    allReported: `${prefix}/devices/+/reported`,
  }
}

/**
 * Reads a desired-state command off the wire.
 *
 * @example
 * client.on('message', (_topic, payload) => {
 *   const result = parseDesired(payload)
 *   if (result.ok) apply(result.value.state)
 * })
 */
export function parseDesired(payload: Uint8Array | string): ParseResult<DesiredMessage> {
  return parseWith(DesiredMessage, payload)
}

/**
 * Reads a device report off the wire.
 *
 * @example
 * const result = parseReported(payload)
 * if (!result.ok) logger.warn(`dropped report: ${result.error}`)
 */
export function parseReported(payload: Uint8Array | string): ParseResult<ReportedMessage> {
  return parseWith(ReportedMessage, payload)
}

/**
 * Serialises a protocol message for publishing.
 *
 * @example
 * await client.publishAsync(topics().desired(id), encode(message), { qos: 1, retain: true })
 */
export function encode(message: DesiredMessage | ReportedMessage): string {
  return JSON.stringify(message)
}

// Far above any real message; stops a hostile publisher from making the car parse megabytes.
const MAX_PAYLOAD_BYTES = 16 * 1024
const utf8 = new TextDecoder('utf-8', { fatal: true })

function parseWith<T>(schema: z.ZodType<T>, payload: Uint8Array | string): ParseResult<T> {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength
  if (size === 0) return { ok: false, error: 'empty payload' }
  if (size > MAX_PAYLOAD_BYTES)
    return { ok: false, error: `payload is ${size} bytes, over ${MAX_PAYLOAD_BYTES}` }
  let json: unknown
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : utf8.decode(payload))
  } catch (error) {
    return {
      ok: false,
      error: `payload is not JSON: ${messageOf(error)}`,
    }
  }
  const result = schema.safeParse(json)
  if (result.success) return { ok: true, value: result.data, json }
  const problems = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`)
  return { ok: false, error: problems.join('; ') }
}
