import { type Address, getAddress, isAddress, zeroAddress } from 'viem'
import type { DeviceClass, GuardChain } from '../../actions/devices/deviceClass.js'
import { probeContract } from '../../chain/probeContract.js'
import { UnknownContractError } from '../../internal/errors.js'
import { type CarStatus, carStatusAbi, registryProbeAbi } from './carStatus.js'
import { desiredFromStatus, immobilizerMeaning } from './desiredFromStatus.js'
import { judge } from './judge.js'
import { listCars } from './listCars.js'
import { toImmobilizerDesired } from './toImmobilizerDesired.js'

/**
 * The immobilizer device class: a car whose starter interrupt answers to its one active loan on a
 * CarLoan-compatible contract (`carStatus(address car)`, see packages/contracts/contracts/CarLoan.sol). Its
 * guard, run by the platform before every command to such a car, reads that loan at the newest block:
 * - lock only while the loan is delinquent (stage 3), with the loan's own `lockAt` and policy;
 * - unlock only while it is not (a car with no active loan may always be unlocked);
 * - warn only while a due date is missed (stage ≥ 1), the final warning only from its time (stage ≥ 2),
 *   and never in place of a lock while the loan is delinquent (that would unlock it).
 * Its `toDesired` turns `ctx.devices.*` options into the car's desired state (toImmobilizerDesired), and
 * `desiredFromChain` says what the car should be from the same loan status (desiredFromStatus), so pbj's
 * reconciliation can correct a car that drifted; with `listCars`, `listDevices` names the cars of every
 * loan the contract opened. A user of the platform, not part of it: another device class brings its own guard and desired
 * states.
 *
 * @example
 * // pbj.config.ts
 * export default defineConfig({ deviceClass: immobilizerClass({ contract: 'CarLoan' }) })
 */
export function immobilizerClass(options: {
  contract: string
  /**
   * Whether reconciliation also reaches cars the store has never seen: every car of every loan the contract
   * opened (listCars). Off by default: a loan contract shared with other operators would have their cars
   * refused by the guard on every pass. On for a store restored from an old back-up.
   */
  listCars?: boolean | undefined
}): DeviceClass {
  const addressOf = (contracts: Readonly<Record<string, Address>>): Address => {
    const { contract } = options
    const address = isAddress(contract, { strict: false }) ? contract : contracts[contract]
    if (!address) {
      throw new UnknownContractError({
        name: contract,
        where: 'deviceClass immobilizer: contract',
        known: Object.keys(contracts),
        orElse: "pass the loan contract's address",
        meta: { field: 'deviceClass' },
      })
    }
    return getAddress(address)
  }
  const statusOf = async (car: string, chain: GuardChain) =>
    (await chain.read({
      address: addressOf(chain.contracts),
      abi: carStatusAbi,
      functionName: 'carStatus',
      args: [car],
    })) as CarStatus
  return {
    name: 'immobilizer',
    check: (contracts) => void addressOf(contracts),
    // The loan contract must answer carStatus (the guard's one read), and the registry the cars trust
    // isOperator (what they check a command's signer against).
    async verify(chain) {
      const read: typeof chain.read = (call) => chain.read(call)
      await probeContract(read, chain.chainId, {
        name: options.contract,
        address: addressOf(chain.contracts),
        abi: carStatusAbi,
        functionName: 'carStatus',
        args: [zeroAddress],
      })
      const registry = chain.contracts.DeviceRegistry
      if (registry)
        await probeContract(read, chain.chainId, {
          name: 'DeviceRegistry',
          address: registry,
          abi: registryProbeAbi,
          functionName: 'isOperator',
          args: [zeroAddress, zeroAddress],
        })
    },
    async guard(command, chain) {
      return judge(command, await statusOf(command.deviceId, chain), options.contract)
    },
    toDesired: toImmobilizerDesired,
    async desiredFromChain(deviceId, chain) {
      return desiredFromStatus(await statusOf(deviceId, chain))
    },
    ...(options.listCars
      ? { listDevices: (chain: GuardChain) => listCars(addressOf(chain.contracts), chain) }
      : {}),
    meaningOf: immobilizerMeaning,
  }
}
