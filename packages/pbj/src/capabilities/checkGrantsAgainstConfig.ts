import { isAddress } from 'viem'
import { displayPath } from '../internal/displayPath.js'
import { FunctionBuildError } from '../internal/errors.js'
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
    const known = Object.keys(config.secrets)
    throw new FunctionBuildError(
      `${file}: capabilities.secrets names '${name}', which is not set in the config's secrets`,
      {
        details: `Known secrets: ${known.length ? known.join(', ') : '(none)'}`,
        hint: `Add secrets: { ${name}: process.env.${name} } to pbj.config.ts, or remove '${name}' from capabilities.secrets of function '${bundle.name}'.`,
        meta: { file: bundle.file, field: 'capabilities.secrets', functionName: bundle.name },
      },
    )
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
    const known = Object.keys(config.contracts)
    throw new FunctionBuildError(`${file}: ${field} '${contract}' is not a known contract`, {
      details: `Known contracts: ${known.length ? known.join(', ') : '(none)'}`,
      hint: `Add ${contract}: { address: '0x…' } under contracts in pbj.config.ts, or use the contract's address.`,
      meta: { file: bundle.file, field, functionName: bundle.name },
    })
  }
}
