import { isAddress } from 'viem'
import { displayPath } from '../internal/displayPath.js'
import { UnknownGrantError } from '../internal/errors.js'
import type { GrantedCapabilities } from './capabilities.js'

/**
 * Checks a function's capabilities against the config when it is loaded into the engine: every declared
 * secret is set in `secrets`, and every contract a capability names is in `contracts` (or an address, or
 * `'*'` for writes). A typo then fails at load, not as a refusal in the middle of a lock.
 *
 * @throws FunctionBuildError naming the function, the field and the fix.
 * @example
 * checkGrantsAgainstConfig(bundle, { secrets: config.secrets ?? {}, contracts })
 */
export function checkGrantsAgainstConfig(
  bundle: { name: string; file: string; capabilities: GrantedCapabilities },
  config: { secrets: Readonly<Record<string, string>>; contracts: Readonly<Record<string, string>> },
): void {
  const file = displayPath(bundle.file)
  const caps = bundle.capabilities
  for (const name of caps.secrets) {
    if (Object.hasOwn(config.secrets, name)) continue
    throw new UnknownGrantError({
      file,
      functionName: bundle.name,
      field: 'capabilities.secrets',
      kind: 'secret',
      value: name,
      known: Object.keys(config.secrets),
      meta: { file: bundle.file },
    })
  }
  const named = [
    ...caps.write.map((w, i) => ({ field: `capabilities.write[${i}].contract`, contract: w.contract })),
    ...(caps.devices.where
      ? [{ field: 'capabilities.devices.where.contract', contract: caps.devices.where.contract }]
      : []),
  ]
  for (const { field, contract } of named) {
    if (
      contract === '*' ||
      isAddress(contract, { strict: false }) ||
      Object.hasOwn(config.contracts, contract)
    )
      continue
    throw new UnknownGrantError({
      file,
      functionName: bundle.name,
      field,
      kind: 'contract',
      value: contract,
      known: Object.keys(config.contracts),
      meta: { file: bundle.file },
    })
  }
}
