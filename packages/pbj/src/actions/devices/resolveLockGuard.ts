import { type Abi, type Address, getAddress, isAddress } from 'viem'
import { ConfigError } from '../../internal/errors.js'

/**
 * The view every lock must pass: `functionName(address device) returns (bool)` on `address`, true when the
 * device may be locked. `contract` is the name it was configured by, for messages.
 *
 * @example
 * const guard: LockGuard = { contract: 'CarLoan', address: '0x5Fb…', functionName: 'isCarDelinquent', abi }
 */
export type LockGuard = { contract: string; address: Address; functionName: string; abi: Abi }

/** The config's `guards.lock`: a contract (name from `contracts`, or an address) and its view. */
export type LockGuardConfig = { contract: string; functionName: string }

/** The guard used when none is configured and a `CarLoan` contract is: the car's latest loan is delinquent. */
export const defaultLockGuard: LockGuardConfig = { contract: 'CarLoan', functionName: 'isCarDelinquent' }

/**
 * Turns the config's `guards.lock` into the view to call, defaulting to `CarLoan.isCarDelinquent` when a
 * `CarLoan` contract is known. Returns null when there is neither: every lock is then refused (fail
 * closed), since no lock can be checked. A configured contract name that is not in `contracts` is a
 * config error at start rather than a refused lock in the middle of the night.
 *
 * @example
 * resolveLockGuard(undefined, { CarLoan: '0x5FbDB2315678afecb367f032d93F642f64180aa3' })
 * // { contract: 'CarLoan', address: '0x5FbD…', functionName: 'isCarDelinquent', abi: [...] }
 */
export function resolveLockGuard(
  config: LockGuardConfig | undefined,
  contracts: Readonly<Record<string, Address>>,
): LockGuard | null {
  if (!config && !contracts[defaultLockGuard.contract]) return null
  const { contract, functionName } = config ?? defaultLockGuard
  const address = isAddress(contract, { strict: false }) ? contract : contracts[contract]
  if (!address) {
    const known = Object.keys(contracts)
    throw new ConfigError(`guards.lock.contract '${contract}' is not a known contract`, {
      details: `Known contracts: ${known.length ? known.join(', ') : '(none)'}`,
      hint: `Add ${contract}: { address: '0x…' } under contracts in pbj.config.ts, or use the contract's address.`,
      docsPath: '#defense-in-depth-the-pre-lock-guard',
      meta: { field: 'guards.lock.contract' },
    })
  }
  const abi: Abi = [
    {
      type: 'function',
      name: functionName,
      stateMutability: 'view',
      inputs: [{ name: 'device', type: 'address' }],
      outputs: [{ name: '', type: 'bool' }],
    },
  ]
  return { contract, address: getAddress(address), functionName, abi }
}
