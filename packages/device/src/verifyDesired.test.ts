// The block a command claims (`chainBlock`) is signed like every other field: a car places the command
// against its view of DeviceRegistry by it, so an attacker who could change it could make a car answer a
// removed operator's command from a cache that predates the removal.
import { bytesToHex } from '@noble/hashes/utils'
import { generatePrivateKey } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createTypedHashes } from './createTypedHashes.js'
import { pbjDomain } from './pbjDomain.js'
import { type DesiredMessage, encode, parseDesired } from './protocol.js'
import { addressOf, signDigest } from './recoverSigner.js'
import { verifyDesired } from './verifyDesired.js'

const hashes = createTypedHashes(pbjDomain({ chainId: 31337, registry: `0x${'42'.repeat(20)}` }))
const deviceId = `0x${'ab'.repeat(20)}`
const key = generatePrivateKey()
const now = Date.now()

/** A batch of one, as the engine's signer makes it. */
function sign(fields: { chainBlock?: number; chainTime: number }): DesiredMessage {
  const command = {
    deviceId,
    version: 3,
    commandId: 'c3',
    state: { locked: true },
    ...fields,
    notBefore: now - 60_000,
    expiresAt: now + 600_000,
  }
  const leaf = hashes.commandLeaf(command)
  const signature = signDigest(hashes.batchDigest(leaf), key)
  return {
    type: 'desired',
    ...command,
    chainBlock: command.chainBlock ?? 0,
    auth: { signer: addressOf(key), root: `0x${bytesToHex(leaf)}`, proof: [], signature },
  }
}
const verify = (message: DesiredMessage) => verifyDesired(message, { deviceId, hashes, now })

describe('chainBlock is signed', () => {
  it('accepts the block as signed, and refuses it changed either way (bad-proof)', () => {
    const message = sign({ chainBlock: 120, chainTime: 1_760_000_000 })
    expect(verify(message)).toMatchObject({ ok: true, signer: addressOf(key) })
    expect(verify({ ...message, chainBlock: 119 })).toMatchObject({ ok: false, code: 'bad-proof' })
    expect(verify({ ...message, chainBlock: 121 })).toMatchObject({ ok: false, code: 'bad-proof' })
  })

  it('reads a message without chainBlock as block 0, which is what was signed only if the signer said 0', () => {
    const none = sign({ chainTime: 1_760_000_000 })
    const { chainBlock: _dropped, ...wire } = none
    const parsed = parseDesired(JSON.stringify(wire))
    expect(parsed.ok && parsed.value.chainBlock).toBe(0)
    if (parsed.ok) expect(verify(parsed.value).ok).toBe(true)

    const signed = sign({ chainBlock: 120, chainTime: 1_760_000_000 })
    const { chainBlock: _stripped, ...stripped } = signed
    const reread = parseDesired(JSON.stringify(stripped))
    expect(reread.ok && verify(reread.value)).toMatchObject({ ok: false, code: 'bad-proof' })
    expect(parseDesired(encode({ ...signed, chainBlock: -1 })).ok).toBe(false)
  })
})
