import { type Address, getAddress, isAddress } from 'viem'
import { UnknownContractError } from '../internal/errors.js'

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
      throw new UnknownContractError({
        name: r,
        where: `Function '${functionName}': trigger.contract`,
        known: Object.keys(contracts),
        meta: { field: 'trigger.contract', functionName },
      })
    }
    return getAddress(address)
  })
}
