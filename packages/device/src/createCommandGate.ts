import { messageOf } from '@pbj/internal/messageOf.js'
import type { PublicClient } from 'viem'
import { createLoanCheck } from './createLoanCheck.js'
import { createOperatorCheck, type OperatorAnswer } from './createOperatorCheck.js'
import type { TypedHashes } from './createTypedHashes.js'
import type { DeviceLogger } from './DeviceLogger.js'
import { type DesiredMessage, parseDesired } from './protocol.js'
import { prepareSignerKey, type SignerKey } from './recoverSigner.js'
import { type Refusal, verifyDesired } from './verifyDesired.js'

/**
 * The chain a car trusts its commands from: the node it reads DeviceRegistry through, the chain id and the
 * registry (together, the EIP-712 domain commands are signed in).
 *
 * @example
 * const chain: DeviceChainOptions = { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, registry: '0x…' }
 */
export type DeviceChainOptions = {
  rpcUrl: string
  chainId: number
  /** The DeviceRegistry's address. */
  registry: string
  /**
   * The loan contract the car is financed under (CarLoan-compatible: `carStatus(address car)`). When set,
   * the car applies a lock only while its one active loan is delinquent at the newest block (`not-delinquent`
   * otherwise; `unverifiable` if it cannot be read), whoever signed it.
   */
  loans?: string
  /** Background polling of the registry's operator events while no head subscription is live. Default 2000 ms. */
  pollIntervalMs?: number
  /** How long a command newer than the car's view waits for its block's head before an RPC read. Default 2 ms. */
  pushWaitMs?: number
  /** Longest a cached operator answer is trusted. Default 60 s. */
  maxAgeMs?: number
  /**
   * A client for the registry reads, shared by the devices of one process (a simulated fleet), instead of
   * one connection per device to `rpcUrl`; over a WebSocket they also share one head subscription.
   */
  client?: PublicClient
  /** Signers' answers kept by the car, least recently used evicted first. Default 4096. */
  maxCachedSigners?: number
  /**
   * Registry reads that signers the car does not know as operators may cause; beyond, their commands are
   * refused `rate-limited` without RPC. Default 5 a second, burst 20.
   */
  unknownSignerLookups?: { perSecond: number; burst: number }
}

/**
 * The version a car last applied and the command ids it applied recently, which a command is ordered
 * against (`replay`, `stale`).
 *
 * @example
 * const applied: AppliedView = { version: 3, commandIds: ['c3', 'c2'] }
 */
export type AppliedView = { version: number; commandIds: readonly string[] }

/**
 * What the gate decided about one desired message. A refusal says whether the engine should hear of it:
 * not for stale versions and replays, which every reconnect brings back (the retained message).
 *
 * @example
 * const verdict: GateVerdict = await gate.check(payload, { version: 2, commandIds: ['c2'] })
 */
export type GateVerdict =
  | { ok: true; message: DesiredMessage; signer: string }
  | ({ ok: false; raw: unknown; tellEngine: boolean } & Refusal)

/**
 * Decides whether a car applies a desired message. See {@link createCommandGate}.
 *
 * @example
 * const verdict = await gate.check(payload, { version: current.version, commandIds: recent })
 */
export type CommandGate = {
  /**
   * Every check. `applied`: the version the car last applied and the command ids it applied recently;
   * without it, the ordering checks are left to {@link CommandGate.order} (for a caller that may apply
   * another command while this one waits on the registry).
   */
  check(payload: Uint8Array | string, applied?: AppliedView): Promise<GateVerdict>
  /** The ordering checks of an accepted verdict against what is applied now: `replay`, `stale`. Sync. */
  order(verdict: GateVerdict, applied: AppliedView): GateVerdict
  /**
   * For an accepted lock, when the car knows its loan contract (`chain.loans`): its one active loan must
   * be delinquent at the newest block (`not-delinquent`; `unverifiable` if it cannot be read). Run after
   * {@link CommandGate.order}, so replays and stale versions cost no read; {@link CommandGate.check} with
   * `applied` runs both.
   */
  confirmLock(verdict: GateVerdict): Promise<GateVerdict>
  /**
   * Whether the payload names as its signer one the car knows as its operator: no RPC, no signature
   * check, for picking the lane a message waits in. It proves nothing; {@link CommandGate.check} does.
   */
  fromKnownOperator(payload: Uint8Array | string): boolean
  /** How many signers the operator cache holds. */
  cachedSigners(): number
  close(): Promise<void>
}

/**
 * Every check a desired message passes before a car applies it, in order: readable (`malformed`), named
 * signer known as an operator or within the car's budget of lookups for unknown signers (`rate-limited`,
 * checked again once the signature is), for this
 * car (`wrong-device`), valid now by the car's clock (`not-yet-valid`, `expired`), under the signed root
 * (`bad-proof`), signed by the signer it names (`bad-signature`), that signer an operator of this car in
 * DeviceRegistry (`unauthorized`; `unverifiable` if the registry cannot be read; `rate-limited` if the
 * signer is not a known operator and the car's budget of lookups for such signers is spent), not already
 * applied (`replay`) and newer than what was (`stale`); and, for a lock when the car knows its loan contract
 * (`chain.loans`), its one active loan delinquent at the newest block (`not-delinquent`).
 *
 * @example
 * const gate = createCommandGate({ deviceId, hashes, chain })
 * const verdict = await gate.check(payload, { version: 0, commandIds: [] })
 * if (verdict.ok) apply(verdict.message)
 */
export function createCommandGate(options: {
  deviceId: string
  hashes: TypedHashes
  chain: DeviceChainOptions
  /** The car's clock; defaults to Date.now. */
  now?: () => number
  /** Where DeviceRegistry polling trouble is warned about; defaults to console.warn. */
  logger?: DeviceLogger | undefined
}): CommandGate {
  const { deviceId, hashes, chain } = options
  const now = options.now ?? Date.now
  const operators = createOperatorCheck({
    rpcUrl: chain.rpcUrl,
    registry: chain.registry,
    deviceId,
    ...(chain.pollIntervalMs === undefined ? {} : { pollIntervalMs: chain.pollIntervalMs }),
    ...(chain.pushWaitMs === undefined ? {} : { pushWaitMs: chain.pushWaitMs }),
    ...(chain.maxAgeMs === undefined ? {} : { maxAgeMs: chain.maxAgeMs }),
    ...(chain.client ? { client: chain.client } : {}),
    ...(chain.maxCachedSigners === undefined ? {} : { maxCachedSigners: chain.maxCachedSigners }),
    ...(chain.unknownSignerLookups === undefined ? {} : { unknownSignerLookups: chain.unknownSignerLookups }),
    ...(options.logger ? { logger: options.logger } : {}),
  })
  const loans = chain.loans
    ? createLoanCheck({
        rpcUrl: chain.rpcUrl,
        loans: chain.loans,
        deviceId,
        ...(chain.client ? { client: chain.client } : {}),
      })
    : null
  // Operators' keys, prepared for fast checks once they have signed a command this car accepted; a car has
  // one or two operators, so a handful are kept.
  const keys = new Map<string, SignerKey>()
  const remember = (signer: string, publicKey: Uint8Array) => {
    if (keys.has(signer)) return
    // After this message is handled: in pure JS the precomputation costs a few ms the command should not
    // wait for (libsecp256k1 needs none).
    setImmediate(() => {
      if (keys.size >= 4) keys.delete(keys.keys().next().value as string)
      keys.set(signer, prepareSignerKey(publicKey))
    })
  }
  const refuse = (refusal: Refusal, raw: unknown): GateVerdict => ({
    ok: false,
    ...refusal,
    raw,
    // Stale versions and replays come back on every reconnect; rate-limited junk comes by the thousand.
    tellEngine: refusal.code !== 'stale' && refusal.code !== 'replay' && refusal.code !== 'rate-limited',
  })
  // A lock from a registered operator that is new to the car: the car reads its own loan before its
  // starter is touched. Last, after the ordering checks, so a replayed lock costs no read.
  const confirmLock = async (verdict: GateVerdict): Promise<GateVerdict> => {
    if (!verdict.ok || !verdict.message.state.locked || !loans) return verdict
    const { message } = verdict
    try {
      const status = await loans.delinquent()
      if (status.delinquent) return verdict
      const reason = `lock refused: the car's loan${status.loanId === 0n ? '' : ` #${status.loanId}`} on ${chain.loans?.toLowerCase()} is not delinquent (stage ${status.stage})`
      return refuse({ code: 'not-delinquent', reason }, message)
    } catch (error) {
      const reason = `cannot read the car's loan on ${chain.loans?.toLowerCase()}: ${messageOf(error, { firstLine: true })}`
      return refuse({ code: 'unverifiable', reason }, message)
    }
  }
  const order = (verdict: GateVerdict, applied: AppliedView): GateVerdict => {
    if (!verdict.ok) return verdict
    const { message } = verdict
    if (applied.commandIds.includes(message.commandId)) {
      const reason = `stale version ${message.version}: version ${applied.version} already applied (replay of command ${message.commandId})`
      return refuse({ code: 'replay', reason }, message)
    }
    if (message.version <= applied.version) {
      const reason = `stale version ${message.version}: version ${applied.version} already applied`
      return refuse({ code: 'stale', reason }, message)
    }
    return verdict
  }

  return {
    order,
    fromKnownOperator(payload) {
      const signer = claimedSigner(payload)
      return signer !== null && operators.isKnownOperator(signer)
    },
    cachedSigners: () => operators.cachedSigners(),
    async check(payload, applied) {
      const parsed = parseDesired(payload)
      if (!parsed.ok) {
        return refuse({ code: 'malformed', reason: `malformed desired message: ${parsed.error}` }, payload)
      }
      const message = parsed.value
      // A signer the car does not know, once the lookups for such signers are spent: refused before the
      // signature is recovered, which would be most of what junk costs the car. Nothing is applied either way.
      if (operators.wouldRateLimit(message.auth.signer, message)) {
        const reason = `signer ${message.auth.signer.toLowerCase()} is not a known operator of this car, and the car is looking up no more unknown signers for now`
        return refuse({ code: 'rate-limited', reason }, message)
      }
      let verified: ReturnType<typeof verifyDesired>
      try {
        const signedState = (parsed.json as { state?: unknown }).state
        verified = verifyDesired(message, { deviceId, hashes, now: now(), signedState, keys })
      } catch (error) {
        // The schema should make this unreachable; a value it let through must still be a refusal.
        const reason = `malformed desired message: ${messageOf(error)}`
        return refuse({ code: 'malformed', reason }, message)
      }
      if (!verified.ok) return refuse(verified, message)
      const { signer } = verified
      let answer: OperatorAnswer
      try {
        answer = await operators.check(signer, message)
      } catch (error) {
        const reason = `cannot check signer ${signer} in DeviceRegistry: ${messageOf(error)}`
        return refuse({ code: 'unverifiable', reason }, message)
      }
      if (answer === 'rate-limited') {
        const reason = `signer ${signer} is not a known operator of this car, and the car is looking up no more unknown signers for now`
        return refuse({ code: 'rate-limited', reason }, message)
      }
      if (answer !== 'operator') {
        const reason = `signer ${signer} is not an operator of this car in DeviceRegistry ${chain.registry.toLowerCase()}`
        return refuse({ code: 'unauthorized', reason }, message)
      }
      if (verified.publicKey) remember(signer, verified.publicKey)
      const accepted: GateVerdict = { ok: true, message, signer }
      return applied ? confirmLock(order(accepted, applied)) : accepted
    },
    confirmLock,
    close: () => operators.close(),
  }
}

/**
 * The signer a desired message names (`auth.signer`, lowercase), or null if it names none; a JSON parse
 * and nothing else, so that junk costs the car no more than reading it before it is queued.
 */
function claimedSigner(payload: Uint8Array | string): string | null {
  try {
    const text =
      typeof payload === 'string'
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')
    const signer = (JSON.parse(text) as { auth?: { signer?: unknown } } | null)?.auth?.signer
    return typeof signer === 'string' ? signer.toLowerCase() : null
  } catch {
    return null
  }
}
