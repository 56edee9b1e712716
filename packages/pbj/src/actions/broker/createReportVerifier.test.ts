import { randomBytes } from 'node:crypto'
import {
  addressOf,
  createTypedHashes,
  LOCK_MESSAGE,
  pbjDomain,
  type ReportedMessage,
  signDigest,
} from '@pbj/device'
import { generatePrivateKey } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createReportVerifier } from './createReportVerifier.js'

const domain = pbjDomain({ chainId: 31337, registry: `0x${randomBytes(20).toString('hex')}` })
const hashes = createTypedHashes(domain)

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
  it('accepts reports the device signed and refuses forged or altered ones, in a worker and inline alike', async () => {
    const keys = Array.from({ length: 20 }, () => generatePrivateKey())
    const genuine = keys.map((key, i) => report(key, i + 1))
    const stranger = generatePrivateKey()
    const forged = keys.map((key, i) => report(key, i + 1, stranger))
    const altered = genuine.map((r) => ({ ...r, state: { locked: false } }))
    const mangled = genuine.map((r) => ({ ...r, signature: `0x${'00'.repeat(65)}` }))
    for (const inline of [false, true]) {
      const verifier = createReportVerifier({ domain, inline })
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

  it('keeps the event loop free while reports are verified in its worker', async () => {
    const keys = Array.from({ length: 200 }, () => generatePrivateKey())
    const reports = keys.map((key) => report(key, 1))
    const verifier = createReportVerifier({ domain })
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
        `[reports] 199 verified in a worker in ${elapsed.toFixed(0)} ms; the event loop ticked ${ticks} times meanwhile`,
      )
      // Inline, the loop would not tick at all until every recovery (~1.8 ms each) was done.
      expect(ticks).toBeGreaterThan(elapsed / 20)
    } finally {
      await verifier.close()
    }
  })
})
