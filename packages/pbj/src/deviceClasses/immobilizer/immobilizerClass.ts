import { deviceRegistryAbi } from '@pbj/contracts'
import { type Address, getAddress, isAddress, zeroAddress } from 'viem'
import type { DeviceClass } from '../../actions/devices/deviceClass.js'
import { probeContract } from '../../chain/probeContract.js'
import { UnknownContractError } from '../../internal/errors.js'
import { type CarStatus, carStatusAbi } from './carStatus.js'
import { judge } from './judge.js'
import { toImmobilizerDesired } from './toImmobilizerDesired.js'

/**
 * The immobilizer device class: a car whose starter interrupt answers to its one active loan on a
 * CarLoan-compatible contract (`carStatus(address car)`, see packages/contracts/contracts/CarLoan.sol). Its
 * guard, run by the platform before every command to such a car, reads that loan at the newest block:
 * - lock only while the loan is delinquent (stage 3), with the loan's own `lockAt` and policy;
 * - unlock only while it is not (a car with no active loan may always be unlocked);
 * - warn only while a due date is missed (stage ≥ 1), the final warning only from its time (stage ≥ 2),
 *   and never in place of a lock while the loan is delinquent (that would unlock it).
 * Its `toDesired` turns `ctx.devices.*` options into the car's desired state (toImmobilizerDesired). A
 * user of the platform, not part of it: another device class brings its own guard and desired states.
 *
 * @example
 * // pbj.config.ts
 * export default defineConfig({ deviceClass: immobilizerClass({ contract: 'CarLoan' }) })
 */
export function immobilizerClass(options: { contract: string }): DeviceClass {
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
          abi: deviceRegistryAbi,
          functionName: 'isOperator',
          args: [zeroAddress, zeroAddress],
        })
    },
    async guard(command, chain) {
      const status = (await chain.read({
        address: addressOf(chain.contracts),
        abi: carStatusAbi,
        functionName: 'carStatus',
        args: [command.deviceId],
      })) as CarStatus
      return judge(command, status, options.contract)
    },
    toDesired: toImmobilizerDesired,
  }
}
