import { randomBytes } from 'node:crypto'
import { keccak_256 } from '@noble/hashes/sha3'
import { bytesToHex } from '@noble/hashes/utils'
import { type Hex, hashStruct, hashTypedData, recoverAddress, recoverTypedDataAddress, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonicalJson.js'
import { createTypedHashes, stateHash } from './createTypedHashes.js'
import { keccak256 } from './keccak256.js'
import { pbjDomain, pbjTypes } from './pbjDomain.js'
import { LOCK_MESSAGE } from './protocol.js'
import {
  addressOf,
  prepareSignerKey,
  recoverSigner,
  recoverSignerKey,
  signDigest,
  verifySignerKey,
} from './recoverSigner.js'
import { structHasher } from './structHasher.js'

const domain = pbjDomain({ chainId: 31337, registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' })
const hashes = createTypedHashes(domain)
const hex = (bytes: Uint8Array) => `0x${bytesToHex(bytes)}`
const address = (): Hex => `0x${randomBytes(20).toString('hex')}`

describe('keccak256', () => {
  it('equals @noble/hashes on every length up to five blocks, and is faster', () => {
    for (let length = 0; length <= 5 * 136 + 1; length++) {
      const data = new Uint8Array(randomBytes(length))
      expect(hex(keccak256(data)), `length ${length}`).toBe(hex(keccak_256(data)))
    }
    const data = new Uint8Array(256)
    const time = (hash: (d: Uint8Array) => Uint8Array) => {
      for (let i = 0; i < 2_000; i++) hash(data)
      const startedAt = performance.now()
      for (let i = 0; i < 5_000; i++) hash(data)
      return performance.now() - startedAt
    }
    const [ours, noble] = [time(keccak256), time(keccak_256)]
    console.log(
      `[keccak256] 256 bytes: ${(ours / 5).toFixed(2)} µs vs @noble/hashes ${(noble / 5).toFixed(2)} µs`,
    )
  })
})

describe('EIP-712 hashes', () => {
  it('hash structs as viem does, for every field type and edge value', () => {
    const types = {
      Every: [
        { name: 'a', type: 'address' },
        { name: 'b', type: 'bool' },
        { name: 'c', type: 'bytes32' },
        { name: 'd', type: 'string' },
        { name: 'e', type: 'uint64' },
        { name: 'f', type: 'uint256' },
      ],
    } as const
    const hash = structHasher('Every', types.Every)
    for (const values of [
      { a: address(), b: true, c: toHex(randomBytes(32)), d: '', e: 0n, f: 0n },
      {
        a: address(),
        b: false,
        c: toHex(randomBytes(32)),
        d: 'ü🚗 déjà',
        e: 2n ** 64n - 1n,
        f: 2n ** 256n - 1n,
      },
      {
        a: address(),
        b: true,
        c: toHex(randomBytes(32)),
        d: LOCK_MESSAGE.repeat(5),
        e: 123_456_789n,
        f: 42n,
      },
    ]) {
      expect(hex(hash(values))).toBe(hashStruct({ types, primaryType: 'Every', data: values }))
    }
    expect(() => hash({ a: address(), b: true, c: '0x00', d: '', e: 1, f: 1 })).toThrow(/c must be 32 bytes/)
    expect(() =>
      hash({ a: address(), b: true, c: toHex(randomBytes(32)), d: '', e: 2n ** 64n, f: 1 }),
    ).toThrow(/e is not a valid uint64/)
  })

  it('gives the digests viem gives for a batch, a command leaf and a report', () => {
    const root = toHex(randomBytes(32))
    expect(hex(hashes.batchDigest(Buffer.from(root.slice(2), 'hex')))).toBe(
      hashTypedData({ domain, types: pbjTypes, primaryType: 'CommandBatch', message: { root } }),
    )
    const state = {
      locked: true,
      reason: 'missed-payment',
      message: LOCK_MESSAGE,
      extra: { z: 1, a: [1, 'x'] },
    }
    const command = {
      deviceId: address(),
      version: 7,
      commandId: '31337:0xabc:deadline:1:lockOnMissedPayment:0',
      state,
      chainBlock: 9_876_543,
      chainTime: 1_801_735_320,
      notBefore: 1_760_000_000_000,
      expiresAt: 1_760_000_600_000,
    }
    expect(hex(hashes.commandLeaf(command))).toBe(
      hashStruct({
        types: pbjTypes,
        primaryType: 'DesiredCommand',
        data: {
          device: command.deviceId as Hex,
          version: 7n,
          commandId: command.commandId,
          state: toHex(keccak_256(new TextEncoder().encode(JSON.stringify(sortKeys(state))))),
          chainBlock: BigInt(command.chainBlock),
          chainTime: BigInt(command.chainTime),
          notBefore: BigInt(command.notBefore),
          expiresAt: BigInt(command.expiresAt),
        },
      }),
    )
    const report = {
      deviceId: address(),
      version: 3,
      commandId: null,
      state: { locked: false },
      appliedAt: 1_760_000_000_123,
    }
    expect(hex(hashes.reportDigest(report))).toBe(
      hashTypedData({
        domain,
        types: pbjTypes,
        primaryType: 'Report',
        message: {
          device: report.deviceId as Hex,
          version: 3n,
          commandId: '',
          state: hex(stateHash({ locked: false })) as Hex,
          appliedAt: BigInt(report.appliedAt),
          error: '',
        },
      }),
    )
  })

  it('hashes a state whatever the order of its keys, and any change of it differently', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
    )
    const state = { locked: true, message: LOCK_MESSAGE, reason: 'missed-payment' }
    expect(hex(stateHash(state))).toBe(
      hex(stateHash({ reason: 'missed-payment', message: LOCK_MESSAGE, locked: true })),
    )
    for (const changed of [
      { ...state, locked: false },
      { ...state, message: `${LOCK_MESSAGE} ` },
      { ...state, extra: null },
      { locked: true, message: LOCK_MESSAGE },
    ]) {
      expect(hex(stateHash(changed))).not.toBe(hex(stateHash(state)))
    }
  })
})

describe('signatures', () => {
  it('signs as viem does and recovers the signer viem recovers', async () => {
    for (let i = 0; i < 20; i++) {
      const key = generatePrivateKey()
      const digest = new Uint8Array(randomBytes(32))
      const ours = signDigest(digest, key)
      expect(ours).toBe(await sign({ hash: toHex(digest), privateKey: key, to: 'hex' }))
      expect(recoverSigner(digest, ours)).toBe(
        (await recoverAddress({ hash: toHex(digest), signature: ours })).toLowerCase(),
      )
      expect(addressOf(key)).toBe(privateKeyToAccount(key).address.toLowerCase())
    }
    // and an operator's viem signature of a batch root verifies as pbj's
    const key = generatePrivateKey()
    const root = toHex(randomBytes(32))
    const signature = await privateKeyToAccount(key).signTypedData({
      domain,
      types: pbjTypes,
      primaryType: 'CommandBatch',
      message: { root },
    })
    expect(recoverSigner(hashes.batchDigest(Buffer.from(root.slice(2), 'hex')), signature)).toBe(
      addressOf(key),
    )
    expect(
      await recoverTypedDataAddress({
        domain,
        types: pbjTypes,
        primaryType: 'CommandBatch',
        message: { root },
        signature,
      }),
    ).toBe(privateKeyToAccount(key).address)
  })

  it("checks a known signer's signatures as recovery would, and faster", () => {
    const key = generatePrivateKey()
    const digest = new Uint8Array(randomBytes(32))
    const good = signDigest(digest, key)
    const prepared = prepareSignerKey(recoverSignerKey(digest, good)?.publicKey as Uint8Array)
    expect(prepared.address).toBe(addressOf(key))
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(`0x${good.slice(66, 130)}`)
    const candidates = [
      good,
      `${good.slice(0, 130)}${good.endsWith('1b') ? '00' : '01'}`, // the same recovery id, spelled 0/1
      `${good.slice(0, 130)}${good.endsWith('1b') ? '1c' : '1b'}`,
      `${good.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${good.endsWith('1b') ? '1c' : '1b'}`,
      `${good.slice(0, 10)}${((Number.parseInt(good[10] as string, 16) + 1) % 16).toString(16)}${good.slice(11)}`,
      `${good.slice(0, 100)}${((Number.parseInt(good[100] as string, 16) + 1) % 16).toString(16)}${good.slice(101)}`,
      signDigest(digest, generatePrivateKey()),
      signDigest(new Uint8Array(randomBytes(32)), key),
      `0x${'00'.repeat(65)}`,
    ]
    for (const candidate of candidates) {
      expect(verifySignerKey(digest, candidate, prepared), candidate).toBe(
        recoverSigner(digest, candidate) === prepared.address,
      )
    }
    expect(verifySignerKey(digest, good, prepared)).toBe(true)
    const time = (check: () => unknown) => {
      for (let i = 0; i < 20; i++) check()
      const startedAt = performance.now()
      for (let i = 0; i < 100; i++) check()
      return (performance.now() - startedAt) / 100
    }
    const [known, recovered] = [
      time(() => verifySignerKey(digest, good, prepared)),
      time(() => recoverSigner(digest, good)),
    ]
    console.log(
      `[signatures] known key ${known.toFixed(2)} ms vs recovery ${recovered.toFixed(2)} ms per check`,
    )
  })

  it('returns null, never throws, for anything but a canonical signature', () => {
    const key = generatePrivateKey()
    const digest = new Uint8Array(randomBytes(32))
    const good = signDigest(digest, key)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(`0x${good.slice(66, 130)}`)
    const twin = `${good.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${good.endsWith('1b') ? '1c' : '1b'}`
    for (const bad of [
      '',
      '0x',
      good.slice(0, -2),
      `${good}00`,
      `0x${'00'.repeat(65)}`,
      `0x${'ff'.repeat(65)}`,
      `${good.slice(0, 130)}1d`,
      `${good.slice(0, 130)}02`,
      twin,
      `${good.slice(0, 10)}zz${good.slice(12)}`,
    ]) {
      expect(recoverSigner(digest, bad), bad).toBeNull()
    }
    // the other recovery id is a valid signature of another key
    const flipped = `${good.slice(0, 130)}${good.endsWith('1b') ? '1c' : '1b'}`
    expect(recoverSigner(digest, flipped)).toMatch(/^0x[0-9a-f]{40}$/)
    expect(recoverSigner(digest, flipped)).not.toBe(addressOf(key))
    expect(recoverSigner(digest, good)).toBe(addressOf(key))
  })
})

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, sortKeys(v)]),
    )
  }
  return value
}
