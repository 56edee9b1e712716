import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DeviceError } from './DeviceError.js'
import { loadNativeSecp256k1 } from './nativeSecp256k1.js'
import { nobleSecp256k1 } from './nobleSecp256k1.js'
import { secp256k1, secp256k1Backend } from './secp256k1.js'
import type { Secp256k1 } from './secp256k1Types.js'

const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const bytes = (value: bigint, length = 32) =>
  Uint8Array.from(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'))
const number = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`)
const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('hex'))
const privateKey = () => {
  for (;;) {
    const key = new Uint8Array(randomBytes(32))
    const value = number(key)
    if (value > 0n && value < n) return key
  }
}
/** A 65-byte signature from its parts. */
const signatureOf = (r: bigint, s: bigint, v: number) => Uint8Array.from([...bytes(r), ...bytes(s), v])

const native = loadNativeSecp256k1()
const js = nobleSecp256k1

describe('secp256k1', () => {
  it('loads libsecp256k1 where a prebuilt binding ships, unless PBJ_SECP256K1=js', () => {
    // The `secp256k1` package ships linux-x64 prebuilds: there, the fast backend must be the one in use.
    if (process.platform === 'linux' && process.arch === 'x64') expect(native?.backend).toBe('native')
    const expected = process.env.PBJ_SECP256K1 === 'js' || !native ? 'js' : 'native'
    expect(secp256k1Backend()).toBe(expected)
    expect(secp256k1.backend).toBe(expected)
  })

  describe.skipIf(!native)('native and JS backends', () => {
    const fast = native as Secp256k1

    it('sign the same bytes (RFC 6979) and recover and verify alike on random keys and digests', () => {
      for (let i = 0; i < 64; i++) {
        const key = privateKey()
        const digest = new Uint8Array(randomBytes(32))
        const signature = js.sign(digest, key)
        expect(hex(fast.sign(digest, key))).toBe(hex(signature))
        const publicKey = js.publicKey(key)
        expect(hex(fast.publicKey(key))).toBe(hex(publicKey))
        expect(hex(fast.recover(digest, signature))).toBe(hex(publicKey))
        expect(hex(js.recover(digest, signature))).toBe(hex(publicKey))
        expect(fast.verify(digest, signature, fast.prepare(publicKey))).toBe(true)
        expect(js.verify(digest, signature, js.prepare(publicKey))).toBe(true)
      }
    })

    it('sign digests at and above n (reduced as RFC 6979 says) and zero to the same bytes', () => {
      const key = privateKey()
      for (const digest of [0n, 1n, n - 1n, n, n + 1n, 2n ** 256n - 1n]) {
        const signature = js.sign(bytes(digest), key)
        expect(hex(fast.sign(bytes(digest), key)), digest.toString(16)).toBe(hex(signature))
        expect(hex(fast.recover(bytes(digest), signature))).toBe(hex(js.publicKey(key)))
        expect(hex(js.recover(bytes(digest), signature))).toBe(hex(js.publicKey(key)))
      }
    })

    it('refuse the same malformed signatures, and only those', () => {
      const key = privateKey()
      const digest = new Uint8Array(randomBytes(32))
      const good = js.sign(digest, key)
      const r = number(good.subarray(0, 32))
      const s = number(good.subarray(32, 64))
      const v = good[64] as number
      const other = v === 27 ? 28 : 27
      const half = n >> 1n
      const refused = [
        signatureOf(r, n - s, other), // the high-s twin: the same point, refused to keep signatures unique
        signatureOf(r, n - s, v),
        signatureOf(0n, s, v),
        signatureOf(r, 0n, v),
        signatureOf(n, s, v),
        signatureOf(n + 1n, s, v),
        signatureOf(2n ** 256n - 1n, s, v),
        signatureOf(r, half + 1n, v),
        signatureOf(r, n, v),
        signatureOf(r, n + 1n, v),
        signatureOf(r, s, 2),
        signatureOf(r, s, 3),
        signatureOf(r, s, 26),
        signatureOf(r, s, 29),
        signatureOf(r, s, 255),
        good.subarray(0, 64),
        Uint8Array.from([...good, 0]),
        new Uint8Array(0),
        new Uint8Array(65),
      ]
      for (const bad of refused) {
        expect(js.recover(digest, bad), hex(bad) ?? '').toBeNull()
        expect(fast.recover(digest, bad), hex(bad) ?? '').toBeNull()
      }
      // Accepted by both, to the same key: v spelled 0/1, the other v (another key), s at exactly n/2.
      const accepted = [
        good,
        signatureOf(r, s, v - 27),
        signatureOf(r, s, other),
        signatureOf(r, s, other - 27),
        signatureOf(r, half, v),
        signatureOf(r, 1n, v),
      ]
      for (const candidate of accepted) {
        const expected = js.recover(digest, candidate)
        expect(expected, hex(candidate) ?? '').not.toBeNull()
        expect(hex(fast.recover(digest, candidate)), hex(candidate) ?? '').toBe(hex(expected))
      }
    })

    it('agree on random junk, mutated signatures and r values that are no curve x', () => {
      const key = privateKey()
      const digest = new Uint8Array(randomBytes(32))
      const good = js.sign(digest, key)
      const s = number(good.subarray(32, 64))
      const candidates: Uint8Array[] = []
      for (let i = 0; i < 150; i++) {
        const junk = new Uint8Array(randomBytes(65))
        junk[64] = [0, 1, 27, 28][i % 4] as number
        junk[32] = (junk[32] as number) & 0x7f // mostly low s, so that the curve arithmetic runs
        candidates.push(junk)
        const mutated = Uint8Array.from(good)
        const at = i % 64
        mutated[at] = (mutated[at] as number) ^ (1 << (i % 8))
        candidates.push(mutated)
      }
      // Small r: about half are no point's x, so recovery must fail in both.
      for (let r = 1n; r <= 40n; r++) candidates.push(signatureOf(r, s, 27), signatureOf(r, s, 28))
      candidates.push(signatureOf(n - 1n, s, 27), signatureOf(n - 1n, s, 28))
      const verdicts = { recovered: 0, refused: 0 }
      const keyJs = js.prepare(js.publicKey(key))
      const keyFast = fast.prepare(fast.publicKey(key))
      for (const candidate of candidates) {
        const expected = js.recover(digest, candidate)
        expect(hex(fast.recover(digest, candidate)), hex(candidate) ?? '').toBe(hex(expected))
        const mine = expected !== null && hex(expected) === hex(keyJs.publicKey)
        expect(js.verify(digest, candidate, keyJs), hex(candidate) ?? '').toBe(mine)
        expect(fast.verify(digest, candidate, keyFast), hex(candidate) ?? '').toBe(mine)
        verdicts[expected === null ? 'refused' : 'recovered']++
      }
      // Both outcomes were exercised.
      expect(verdicts.recovered).toBeGreaterThan(50)
      expect(verdicts.refused).toBeGreaterThan(50)
    })

    it('verify against a known key exactly as recovery decides, v included, with keys prepared by either', () => {
      const key = privateKey()
      const digest = new Uint8Array(randomBytes(32))
      const good = js.sign(digest, key)
      const r = number(good.subarray(0, 32))
      const s = number(good.subarray(32, 64))
      const v = good[64] as number
      const publicKey = js.publicKey(key)
      const candidates = [
        good,
        signatureOf(r, s, v - 27),
        signatureOf(r, s, v === 27 ? 28 : 27), // a valid signature of another key: refused
        signatureOf(r, n - s, v === 27 ? 28 : 27),
        js.sign(digest, privateKey()),
        js.sign(new Uint8Array(randomBytes(32)), key),
        new Uint8Array(65),
      ]
      const prepared = [js.prepare(publicKey), fast.prepare(publicKey)]
      for (const candidate of candidates) {
        const expected = hex(js.recover(digest, candidate)) === hex(publicKey)
        for (const backend of [js, fast]) {
          for (const preparedKey of prepared) {
            expect(backend.verify(digest, candidate, preparedKey), hex(candidate) ?? '').toBe(expected)
          }
        }
      }
      expect(fast.verify(digest, good, prepared[1] as (typeof prepared)[1])).toBe(true)
    })

    it('refuse invalid private keys, public keys and digest lengths with the same errors', () => {
      for (const backend of [js, fast]) {
        for (const key of [bytes(0n), bytes(n), bytes(n + 1n), bytes(2n ** 256n - 1n), new Uint8Array(31)]) {
          expect(() => backend.sign(new Uint8Array(32), key)).toThrow(DeviceError)
          expect(() => backend.publicKey(key)).toThrow(DeviceError)
        }
        expect(() => backend.sign(new Uint8Array(31), privateKey())).toThrow(DeviceError)
        expect(() => backend.recover(new Uint8Array(33), new Uint8Array(65))).toThrow(DeviceError)
        const notAPoint = Uint8Array.from([4, ...new Uint8Array(64)])
        expect(() => backend.prepare(notAPoint)).toThrow()
      }
    })

    it('is faster natively', () => {
      const key = privateKey()
      const digest = new Uint8Array(randomBytes(32))
      const signature = js.sign(digest, key)
      const time = (run: () => unknown, count: number) => {
        for (let i = 0; i < 5; i++) run()
        const startedAt = performance.now()
        for (let i = 0; i < count; i++) run()
        return ((performance.now() - startedAt) / count) * 1000
      }
      const jsRecover = time(() => js.recover(digest, signature), 50)
      const nativeRecover = time(() => fast.recover(digest, signature), 500)
      const jsSign = time(() => js.sign(digest, key), 50)
      const nativeSign = time(() => fast.sign(digest, key), 500)
      console.log(
        `[secp256k1] recover ${nativeRecover.toFixed(0)} µs native vs ${jsRecover.toFixed(0)} µs JS; sign ${nativeSign.toFixed(0)} µs vs ${jsSign.toFixed(0)} µs`,
      )
      // Loose: the machine is shared; the measured gap is ~20×.
      expect(nativeRecover * 3).toBeLessThan(jsRecover)
    })
  })
})
