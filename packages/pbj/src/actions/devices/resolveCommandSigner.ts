import type { PbjDomain } from '@pbj/device'
import { NoCommandSignerError } from '../../internal/errors.js'
import { type CommandSigner, createCommandSigner } from './createCommandSigner.js'

/**
 * The engine's command signer from its config: `operatorKey` and the DeviceRegistry of `contracts` (the
 * EIP-712 domain). A bad key fails the engine's creation; a missing key or registry does not (an engine
 * may have no devices) but every publish fails with a ConfigError saying which, and the commands wait in
 * the outbox: cars refuse unsigned commands, so sending them would only look like progress.
 *
 * @example
 * const signer = resolveCommandSigner({ operatorKey: config.operatorKey, domain })
 */
export function resolveCommandSigner(options: {
  operatorKey: string | undefined
  domain: PbjDomain | undefined
  validityMs?: number | undefined
}): Pick<CommandSigner, 'sign'> & { address: string | null } {
  const { operatorKey, domain } = options
  if (operatorKey && domain) {
    return createCommandSigner({
      operatorKey,
      domain,
      ...(options.validityMs === undefined ? {} : { validityMs: options.validityMs }),
    })
  }
  const error = new NoCommandSignerError({
    missing: operatorKey ? 'contracts.DeviceRegistry' : 'operatorKey',
  })
  if (operatorKey) createCommandSigner({ operatorKey, domain: dummyDomain })
  return {
    address: null,
    sign() {
      throw error
    },
  }
}

// Only to check the key's format when there is no registry yet; never used to sign.
const dummyDomain: PbjDomain = {
  name: 'pbj',
  version: '1',
  chainId: 1,
  verifyingContract: '0x0000000000000000000000000000000000000000',
}
