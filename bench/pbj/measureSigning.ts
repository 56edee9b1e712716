import { LOCK_MESSAGE, pbjDomain } from '@pbj/device'
import { privateKeyToAddress } from 'viem/accounts'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'
import { demoAccounts } from '#pbj/demo/accounts.js'

/**
 * Signed device commands per second: the engine's signer (one Merkle tree and one EIP-712 signature per
 * batch) on batches of `batch` lock commands for distinct cars, for about `seconds`, after a warm-up.
 *
 * @example
 * const { signedCommandsPerSec } = measureSigning({ batch: 1_000, seconds: 1 })
 */
export function measureSigning(options: { batch: number; seconds: number }) {
  const signer = createCommandSigner({
    operatorKey: demoAccounts.operator.privateKey,
    domain: pbjDomain({ chainId: 31337, registry: privateKeyToAddress(demoAccounts.lender.privateKey) }),
  })
  const state = { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }
  const commands = Array.from({ length: options.batch }, (_, i) => ({
    deviceId: `0x${(i + 1).toString(16).padStart(40, '0')}`,
    version: 1,
    commandId: `bench-${i}`,
    state,
    chainTime: 1_800_000_000,
  }))
  for (let i = 0; i < 3; i++) signer.sign(commands)
  let signed = 0
  const startedAt = performance.now()
  while (performance.now() - startedAt < options.seconds * 1000) signed += signer.sign(commands).length
  const seconds = (performance.now() - startedAt) / 1000
  return {
    signedCommandsPerSec: Math.round(signed / seconds),
    batch: options.batch,
    batches: signed / options.batch,
  }
}
