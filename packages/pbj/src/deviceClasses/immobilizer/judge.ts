import type { DeviceCommand, GuardVerdict } from '../../actions/devices/deviceClass.js'
import type { CarStatus } from './carStatus.js'

const stageNames = ['current', 'warning', 'final warning', 'delinquent'] as const

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
