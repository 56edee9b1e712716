import { randomBytes } from 'node:crypto'
import { hexToBytes } from '@noble/hashes/utils'
import {
  addressOf,
  createTypedHashes,
  LOCK_MESSAGE,
  pbjDomain,
  type ReportedMessage,
  recoverSigner,
  secp256k1Backend,
  signDigest,
} from '@pbj/device'
import { generatePrivateKey } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createReportVerifier } from './createReportVerifier.js'

const domain = pbjDomain({ chainId: 31337, registry: `0x${randomBytes(20).toString('hex')}` })
const hashes = createTypedHashes(domain)
const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

const report = (key: string, version: number, signWith = key): ReportedMessage => {
  const unsigned = {
    type: 'reported' as const,
    deviceId: addressOf(key),
    version,
    commandId: `c-${version}`,
    state: { locked: true, message: LOCK_MESSAGE },
    appliedAt: Date.now(),
  }
  return { ...unsigned, signature: signDigest(hashes.reportDigest(unsigned), signWith) }
}

describe('createReportVerifier', () => {
  it('accepts reports the device signed and refuses forged or altered ones, in a worker, inline and by burst size alike', async () => {
    const keys = Array.from({ length: 20 }, () => generatePrivateKey())
    const genuine = keys.map((key, i) => report(key, i + 1))
    const stranger = generatePrivateKey()
    const forged = keys.map((key, i) => report(key, i + 1, stranger))
    const altered = genuine.map((r) => ({ ...r, state: { locked: false } }))
    const mangled = genuine.map((r) => ({ ...r, signature: `0x${'00'.repeat(65)}` }))
    // undefined: the default, in a worker for a burst (20 at once here), in this thread for one.
    for (const inline of [false, true, undefined]) {
      const verifier = createReportVerifier({ domain, ...(inline === undefined ? {} : { inline }) })
      try {
        expect(await Promise.all(genuine.map((r) => verifier.verify(r)))).toEqual(genuine.map(() => null))
        expect(await Promise.all(forged.map((r) => verifier.verify(r)))).toEqual(
          forged.map(() => `it is signed by ${addressOf(stranger)}, not by the device`),
        )
        for (const verdict of await Promise.all(altered.map((r) => verifier.verify(r)))) {
          expect(verdict).toMatch(/^it is signed by 0x[0-9a-f]{40}, not by the device$/)
        }
        expect(await Promise.all(mangled.map((r) => verifier.verify(r)))).toEqual(
          mangled.map(() => 'its signature is not a valid secp256k1 signature'),
        )
        // the state a newer car sends (fields this engine does not know) is what it signed
        const key = keys[0] as string
        const first = genuine[0] as ReportedMessage
        const wireState = { locked: true, extra: { stage: 'x' } }
        const signed: ReportedMessage = {
          ...first,
          state: { locked: true },
          signature: signDigest(hashes.reportDigest({ ...first, state: wireState }), key),
        }
        expect(await verifier.verify(signed, wireState)).toBeNull()
        expect(await verifier.verify(signed)).not.toBeNull()
      } finally {
        await verifier.close()
      }
    }
  })

  it('refuses the same malformed signatures in a worker and inline, as recoverSigner does', async () => {
    const key = generatePrivateKey()
    const genuine = report(key, 1)
    const bytes = hexToBytes(genuine.signature.slice(2))
    const r = BigInt(`0x${genuine.signature.slice(2, 66)}`)
    const s = BigInt(`0x${genuine.signature.slice(66, 130)}`)
    const v = bytes[64] as number
    const other = v === 27 ? 28 : 27
    const signature = (r: bigint, s: bigint, v: number) =>
      `0x${r.toString(16).padStart(64, '0')}${s.toString(16).padStart(64, '0')}${v.toString(16).padStart(2, '0')}`
    const signatures = [
      genuine.signature,
      signature(r, s, v - 27), // v spelled 0/1: accepted
      signature(r, s, other), // another key's
      signature(r, n - s, other), // the high-s twin
      signature(r, n - s, v),
      signature(0n, s, v),
      signature(r, 0n, v),
      signature(n, s, v),
      signature(r, (n >> 1n) + 1n, v),
      signature(r, n >> 1n, v),
      signature(r, s, 2),
      signature(r, s, 29),
      ...Array.from({ length: 12 }, (_, i) => signature(BigInt(i + 1), s, 27 + (i % 2))), // r often no curve x
      `0x${'00'.repeat(65)}`,
      `0x${'ff'.repeat(65)}`,
    ]
    const digest = hashes.reportDigest(genuine)
    const expected = signatures.map((candidate) => {
      const signer = recoverSigner(digest, candidate)
      if (signer === genuine.deviceId) return null
      return signer === null
        ? 'its signature is not a valid secp256k1 signature'
        : `it is signed by ${signer}, not by the device`
    })
    expect(expected.filter((verdict) => verdict === null)).toHaveLength(2)
    for (const inline of [false, true]) {
      const verifier = createReportVerifier({ domain, inline })
      try {
        // One at a time, each with its own signature: a verified report is remembered by digest and signature.
        for (const [i, candidate] of signatures.entries()) {
          const verdict = await verifier.verify({ ...genuine, signature: candidate })
          expect(verdict, `${inline ? 'inline' : 'worker'} ${candidate}`).toBe(expected[i])
        }
      } finally {
        await verifier.close()
      }
    }
  })

  it('keeps the event loop free while reports are verified, in a worker and inline', async () => {
    const keys = Array.from({ length: 200 }, () => generatePrivateKey())
    const reports = keys.map((key) => report(key, 1))
    for (const inline of [false, true]) {
      const verifier = createReportVerifier({ domain, inline })
      try {
        await verifier.verify(reports[0] as ReportedMessage) // starts the worker
        let ticks = 0
        const ticker = setInterval(() => ticks++, 1)
        const startedAt = performance.now()
        const verdicts = await Promise.all(reports.slice(1).map((r) => verifier.verify(r)))
        const elapsed = performance.now() - startedAt
        clearInterval(ticker)
        expect(verdicts.every((v) => v === null)).toBe(true)
        console.log(
          `[reports] 199 verified ${inline ? 'inline' : 'in a worker'} (${secp256k1Backend()}) in ${elapsed.toFixed(0)} ms; the event loop ticked ${ticks} times meanwhile`,
        )
        // Inline in one go, the loop would not tick at all until every recovery was done.
        expect(ticks).toBeGreaterThan(elapsed / 20)
      } finally {
        await verifier.close()
      }
    }
  })
})
