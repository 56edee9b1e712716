import { type Address, getAddress, isAddress } from 'viem'
import { ConfigError } from '../internal/errors.js'

/**
 * Turns a trigger's `contract` (a name from the config, an address, or a list of addresses) into addresses.
 *
 * @example
 * resolveContract('CarLoan', { CarLoan: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }, 'lock')
 */
export function resolveContract(
  ref: string | readonly string[],
  contracts: Readonly<Record<string, Address>>,
  functionName: string,
): Address[] {
  const refs: readonly string[] = typeof ref === 'string' ? [ref] : ref
  return refs.map((r) => {
    if (isAddress(r, { strict: false })) return getAddress(r)
    const address = contracts[r]
    if (!address) {
      const known = Object.keys(contracts)
      throw new ConfigError(`Function '${functionName}': trigger.contract '${r}' is not a known contract`, {
        details: `Known contracts: ${known.length ? known.join(', ') : '(none)'}`,
        hint: `Add ${r}: { address: '0x…' } under contracts in pbj.config.ts, or use the contract's address.`,
        meta: { field: 'trigger.contract', functionName },
      })
    }
    return getAddress(address)
  })
}
