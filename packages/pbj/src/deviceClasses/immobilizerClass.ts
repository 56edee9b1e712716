import { type Address, getAddress, isAddress, parseAbi } from 'viem'
import type { DeviceClass, DeviceCommand, GuardVerdict } from '../actions/devices/deviceClass.js'
import { UnknownContractError } from '../internal/errors.js'

/** What `carStatus(car)` returns on a CarLoan-compatible contract. */
type CarStatus = readonly [
  loanId: bigint,
  stage: number,
  nextDueAt: bigint,
  lockAt: bigint,
  finalWarningAt: bigint,
  policy: { warningPeriod: bigint; finalWarning: bigint; emergencyStarts: number; emergencyDuration: bigint },
]

/**
 * The one view the class reads, inline: any loan contract with this view can drive immobilizers (and the
 * class stays loadable from a config file, which must not import `@pbj/*` TypeScript sources).
 */
const carStatusAbi = parseAbi([
  'struct Policy { uint64 warningPeriod; uint64 finalWarning; uint32 emergencyStarts; uint64 emergencyDuration; }',
  'function carStatus(address car) view returns (uint256 loanId, uint8 stage, uint64 nextDueAt, uint64 lockAt, uint64 finalWarningAt, Policy policy)',
])

const stageNames = ['current', 'warning', 'final warning', 'delinquent'] as const

/**
 * The immobilizer device class: a car whose starter interrupt answers to its one active loan on a
 * CarLoan-compatible contract (`carStatus(address car)`, see packages/contracts/contracts/CarLoan.sol). Its
 * guard, run by the platform before every command to such a car, reads that loan at the newest block:
 * - lock only while the loan is delinquent (stage 3), with the loan's own `lockAt` and policy;
 * - unlock only while it is not (a car with no active loan may always be unlocked);
 * - warn only while a due date is missed (stage ≥ 1), the final warning only from its time (stage ≥ 2),
 *   and never in place of a lock while the loan is delinquent (that would unlock it).
 * A user of the platform, not part of it: another device class brings its own guard.
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
    async guard(command, chain) {
      const status = (await chain.read({
        address: addressOf(chain.contracts),
        abi: carStatusAbi,
        functionName: 'carStatus',
        args: [command.deviceId],
      })) as CarStatus
      return judge(command, status, options.contract)
    },
  }
}

/** The verdict on one command given the car's loan status; pure, so each rule is tested on its own. */
export function judge(command: DeviceCommand, status: CarStatus, contract: string): GuardVerdict {
  const [loanId, stage, , lockAt, , policy] = status
  const loan = `${contract} loan #${loanId}`
  const where = `${loan} is ${stageNames[stage] ?? `at stage ${stage}`}`
  const immobilizer = command.desired.immobilizer
  // A lock or warning carries the loan's lockAt and policy for the car to check its warnings against:
  // they must be the chain's, or a function could shorten the warnings the borrower was promised.
  const termsMatch = (): GuardVerdict => {
    if (!immobilizer || immobilizer.lockAt === undefined) return { ok: true }
    const same =
      BigInt(immobilizer.lockAt) === lockAt &&
      (!immobilizer.policy ||
        (BigInt(immobilizer.policy.warningPeriod) === policy.warningPeriod &&
          BigInt(immobilizer.policy.finalWarning) === policy.finalWarning &&
          immobilizer.policy.emergencyStarts === policy.emergencyStarts &&
          BigInt(immobilizer.policy.emergencyDuration) === policy.emergencyDuration))
    return same
      ? { ok: true }
      : {
          ok: false,
          reason: 'terms-mismatch',
          message: `the command's lockAt ${immobilizer.lockAt} or policy differ from ${loan}'s (lockAt ${lockAt})`,
          hint: `Pass ${contract}.lockAt(loanId) and ${contract}.policyOf(loanId) as read at the block.`,
        }
  }
  if (command.action === 'unlock') {
    return loanId !== 0n && stage === 3
      ? {
          ok: false,
          reason: 'delinquent',
          message: `${where}: the car stays locked until it is paid`,
          hint: 'An unlock goes out only while the car’s active loan is not delinquent.',
        }
      : { ok: true }
  }
  if (loanId === 0n) {
    return {
      ok: false,
      reason: 'no-active-loan',
      message: `the car has no active loan on ${contract}`,
      hint: 'Only a car financed by an active loan can be warned or locked.',
    }
  }
  if (command.action === 'lock') {
    if (stage !== 3) {
      return {
        ok: false,
        reason: 'not-delinquent',
        message: `${where}, not delinquent`,
        hint: `A lock goes out only while ${contract}.carStatus says the car's one active loan is delinquent.`,
      }
    }
    return termsMatch()
  }
  const final = immobilizer?.stage === 'final-warning'
  // A due date is missed from stage 1 on; a warning may still go out once the loan is delinquent (it comes
  // before the lock, e.g. when confirmations delay it), but never in place of a lock: that would unlock.
  if (stage === 3 && command.current?.locked) {
    return {
      ok: false,
      reason: 'delinquent',
      message: `${where}: a warning would take the car out of its lock before it is paid`,
      hint: 'A locked car is unlocked (or stepped back to a warning) only once its loan is no longer delinquent.',
    }
  }
  if (stage === 0 || (final && stage < 2)) {
    return {
      ok: false,
      reason: final && stage !== 0 ? 'not-final-warning' : 'no-missed-due-date',
      message: `${where}: no ${final ? 'final ' : ''}warning is due`,
      hint: 'A warning goes out only while a due date is missed (the final warning only from finalWarningAt).',
    }
  }
  return termsMatch()
}
