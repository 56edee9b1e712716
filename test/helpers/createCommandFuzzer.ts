import { randomBytes, randomInt } from 'node:crypto'
import { type DesiredMessage, encode, LOCK_MESSAGE, type RefusalCode } from '@pbj/device'
import { generatePrivateKey } from 'viem/accounts'
import { type CommandSigner, createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import type { RegistryFixture } from './startRegistry.js'

/**
 * One hostile message: what it is, the refusal it must get, and the bytes to publish.
 *
 * @example
 * const c: FuzzCase = { kind: 'mutated root', expect: 'bad-proof', payload: encode(message) }
 */
export type FuzzCase = { kind: string; expect: RefusalCode; payload: string | Buffer }

/**
 * Makes hostile desired messages for one car, as someone with broker access but without the operator key
 * could: forged and mangled signatures, every field of a genuine command mutated, other signers, commands
 * for other cars, replays of what the car applied, stale versions, expired and not-yet-valid commands, and
 * junk. Each genuine base command carries a version above the car's, so any mutation the car failed to
 * catch would be applied: the car's own log counts that.
 *
 * `applied` is a genuine command the car has applied (for replays); the car must be at its version.
 *
 * @example
 * const fuzz = createCommandFuzzer({ registry, deviceId, otherDeviceId, applied })
 * const { kind, expect, payload } = fuzz.next()
 */
export function createCommandFuzzer(options: {
  registry: RegistryFixture
  deviceId: string
  otherDeviceId: string
  applied: DesiredMessage
}) {
  const { registry, deviceId, otherDeviceId, applied } = options
  // Keys that are not operators of the car; a few, so the car's registry answers are cached as in a flood.
  const strangers: CommandSigner[] = Array.from({ length: 4 }, () =>
    createCommandSigner({ operatorKey: generatePrivateKey(), domain: registry.domain }),
  )
  const lock = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }
  const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)] as T

  /** A genuine command for the car (version above what it applied), in a batch of 1 to 64. */
  const genuine = (
    options: { with?: CommandSigner; now?: number; deviceId?: string; version?: number } = {},
  ): DesiredMessage => {
    const size = randomInt(1, 65)
    const at = randomInt(size)
    const target = options.deviceId ?? deviceId
    const commands = Array.from({ length: size }, (_, i) => ({
      deviceId: i === at ? target : `0x${randomBytes(20).toString('hex')}`,
      version: i === at ? (options.version ?? applied.version + randomInt(1, 1_000)) : randomInt(1, 100),
      commandId: `fuzz-${randomBytes(6).toString('hex')}`,
      state: pick([lock, { locked: false, reason: 'paid' }]),
      chainBlock: randomInt(1, 2 ** 40),
      chainTime: randomInt(1_700_000_000, 1_900_000_000),
    }))
    return (options.with ?? registry.signer).sign(commands, options.now)[at] as DesiredMessage
  }
  // A pool of genuine commands to mutate: signing each case afresh would make the fuzzer, not the car,
  // the bottleneck.
  const pool = Array.from({ length: 64 }, () => genuine())
  const base = () => structuredClone(pick(pool))

  const flipHex = (hex: string, from = 2, to = hex.length) => {
    const at = randomInt(from, to)
    const digit = Number.parseInt(hex[at] as string, 16)
    return `${hex.slice(0, at)}${((digit + randomInt(1, 16)) % 16).toString(16)}${hex.slice(at + 1)}`
  }
  const randomHex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`
  const other = <T>(current: T, make: () => T): T => {
    for (;;) {
      const value = make()
      if (value !== current) return value
    }
  }

  /** Each mutation changes one field of a genuine command and must be caught by the check named. */
  const mutations: Record<string, [RefusalCode, (m: DesiredMessage) => void]> = {
    'mutated deviceId': ['wrong-device', (m) => (m.deviceId = pick([otherDeviceId, randomHex(20)]))],
    'mutated version': ['bad-proof', (m) => (m.version += randomInt(1, 1_000))],
    'mutated commandId': ['bad-proof', (m) => (m.commandId = other(m.commandId, () => `x-${randomHex(4)}`))],
    'mutated chainTime': [
      'bad-proof',
      (m) => (m.chainTime = other(m.chainTime, () => randomInt(0, 2 ** 40))),
    ],
    // The block places the command against the car's view of the registry: moving it must break the proof.
    'mutated chainBlock': [
      'bad-proof',
      (m) => (m.chainBlock = other(m.chainBlock, () => randomInt(0, 2 ** 40))),
    ],
    'mutated notBefore': ['bad-proof', (m) => (m.notBefore -= randomInt(1, 60_000))],
    'mutated expiresAt': ['bad-proof', (m) => (m.expiresAt += randomInt(1, 60_000))],
    'mutated state.locked': ['bad-proof', (m) => (m.state.locked = !m.state.locked)],
    'mutated state.message': [
      'bad-proof',
      (m) => (m.state.message = other(m.state.message, () => pick(['', 'Drive safely', LOCK_MESSAGE]))),
    ],
    'mutated state.reason': [
      'bad-proof',
      (m) => (m.state.reason = other(m.state.reason, () => randomHex(3))),
    ],
    // A field the car's schema does not know (stripped when parsed) is still part of what was signed.
    'added state field': ['bad-proof', (m) => Object.assign(m.state, { override: 'unlock' })],
    'mutated proof entry': [
      'bad-proof',
      (m) => {
        if (m.auth.proof.length === 0) m.auth.proof.push(randomHex(32))
        else {
          const i = randomInt(m.auth.proof.length)
          m.auth.proof[i] = flipHex(m.auth.proof[i] as string)
        }
      },
    ],
    'dropped proof entry': [
      'bad-proof',
      (m) => {
        if (m.auth.proof.length === 0) m.auth.proof.push(randomHex(32))
        else m.auth.proof.splice(randomInt(m.auth.proof.length), 1)
      },
    ],
    'added proof entry': [
      'bad-proof',
      (m) => m.auth.proof.splice(randomInt(m.auth.proof.length + 1), 0, randomHex(32)),
    ],
    'mutated root': ['bad-proof', (m) => (m.auth.root = flipHex(m.auth.root))],
    'mutated signature r/s': ['bad-signature', (m) => (m.auth.signature = flipHex(m.auth.signature, 2, 130))],
    'mutated signature v': [
      'bad-signature',
      // The other recovery id (either spelling) recovers another key; 1d, 02 and ff are no recovery id.
      (m) => {
        const others = m.auth.signature.endsWith('1b') ? ['1c', '01'] : ['1b', '00']
        m.auth.signature = `${m.auth.signature.slice(0, 130)}${pick([...others, '1d', '02', 'ff'])}`
      },
    ],
    'high-s signature twin': ['bad-signature', (m) => (m.auth.signature = highS(m.auth.signature))],
    'random signature': ['bad-signature', (m) => (m.auth.signature = randomHex(65))],
    'mutated signer': [
      'bad-signature',
      (m) => (m.auth.signer = pick([randomHex(20), strangers[0]?.address as string, otherDeviceId])),
    ],
  }
  const kinds: (() => FuzzCase)[] = [
    ...Object.entries(mutations).map(([kind, [expect, mutate]]) => () => {
      const m = base()
      mutate(m)
      return { kind, expect, payload: encode(m) }
    }),
    () => ({
      kind: 'forged by a stranger',
      expect: 'unauthorized',
      payload: encode(genuine({ with: pick(strangers) })),
    }),
    () => {
      // A stranger's own signature, passed off as the operator's.
      const m = genuine({ with: pick(strangers) })
      m.auth.signer = registry.operator.address.toLowerCase()
      return { kind: 'stranger claims to be the operator', expect: 'bad-signature', payload: encode(m) }
    },
    () => ({
      kind: 'for another car',
      expect: 'wrong-device',
      payload: encode(genuine({ deviceId: otherDeviceId })),
    }),
    () => ({ kind: 'replayed', expect: 'replay', payload: encode(applied) }),
    () => ({
      kind: 'stale version',
      expect: 'stale',
      payload: encode(genuine({ version: randomInt(1, applied.version + 1) })),
    }),
    () => ({
      kind: 'expired',
      expect: 'expired',
      payload: encode(genuine({ now: Date.now() - randomInt(11 * 60_000, 86_400_000) })),
    }),
    () => ({
      kind: 'not yet valid',
      expect: 'not-yet-valid',
      payload: encode(genuine({ now: Date.now() + randomInt(2 * 60_000, 86_400_000) })),
    }),
    () => {
      // The command as pbj sent commands before they were signed.
      const { auth: _, notBefore: __, expiresAt: ___, ...unsigned } = base()
      return {
        kind: 'unsigned',
        expect: 'malformed',
        payload: JSON.stringify({ ...unsigned, issuedAt: Date.now() }),
      }
    },
    () => ({
      kind: 'junk',
      expect: 'malformed',
      payload: pick<string | Buffer>([
        randomBytes(randomInt(1, 200)),
        'unlock please',
        '{}',
        JSON.stringify({ type: 'desired', deviceId, version: 'two' }),
        JSON.stringify({ ...base(), auth: { ...base().auth, proof: Array(40).fill(randomHex(32)) } }),
        'x'.repeat(20_000),
      ]),
    }),
  ]
  const operator = registry.operator.address.toLowerCase()
  return {
    /** A random hostile message. */
    next: (): FuzzCase => (pick(kinds) as () => FuzzCase)(),
    /**
     * Whether the car refused `c` for the reason it should meet. A message that names a signer other than
     * the car's operator may also be refused `rate-limited`: once the car's budget of lookups for unknown
     * signers is spent it refuses them before recovering the signature, which is the flood protection.
     */
    refusedAsExpected(c: FuzzCase, got: string): boolean {
      if (got === c.expect) return true
      if (got !== 'rate-limited') return false
      const signer = (() => {
        try {
          return String(
            (JSON.parse(c.payload.toString()) as { auth?: { signer?: unknown } }).auth?.signer ?? '',
          )
        } catch {
          return ''
        }
      })()
      return signer !== '' && signer.toLowerCase() !== operator
    },
    /** How many kinds of message it makes. */
    kinds: kinds.length,
  }
}

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** The other valid signature of the same message: s → n − s, v flipped. */
function highS(signature: string): string {
  const s = BigInt(`0x${signature.slice(66, 130)}`)
  const v = signature.slice(130) === '1b' ? '1c' : '1b'
  return `${signature.slice(0, 66)}${(N - s).toString(16).padStart(64, '0')}${v}`
}
