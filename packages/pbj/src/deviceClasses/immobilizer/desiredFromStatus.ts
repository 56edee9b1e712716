import type { ChainAnswer } from '../../actions/devices/deviceClass.js'
import type { DeviceDesired } from '../../core/device.js'
import type { CarStatus } from './carStatus.js'

/** The method named in a reconciliation's device call (its errors and messages). */
const method = 'reconcile'

/**
 * What a car should be given its one active loan's status, as the device call the car-loan functions would
 * make: delinquent (stage 3) → a lock with the loan's lockAt and policy (the class's standard lock message);
 * a missed due date (stage 1) → the warning since that due date; from finalWarningAt (stage 2) → the final
 * warning, its warning stage counted from the due date; current, or no active loan → unlocked. Pure, so
 * each stage is tested on its own. `changesAt` is when the loan's stage moves on by itself if nothing is
 * paid: the due date (current → warning), finalWarningAt (→ final warning), lockAt (→ delinquent); none
 * once delinquent or without an active loan (only a transaction changes those, and it is an event).
 *
 * @example
 * desiredFromStatus(status) // { action: 'lock', method: 'reconcile', options: { lockAt, policy } }
 */
export function desiredFromStatus(status: CarStatus): ChainAnswer {
  const [loanId, stage, nextDueAt, lockAt, finalWarningAt, policy] = status
  if (loanId === 0n) return { action: 'unlock', method, options: {} }
  if (stage === 0) return { action: 'unlock', method, options: {}, changesAt: nextDueAt }
  if (stage >= 3) return { action: 'lock', method, options: { lockAt, policy } }
  if (stage === 2) {
    return {
      action: 'warn',
      method,
      options: { final: true, since: finalWarningAt, warningSince: nextDueAt, lockAt, policy },
      changesAt: lockAt,
    }
  }
  return { action: 'warn', method, options: { since: nextDueAt, lockAt, policy }, changesAt: finalWarningAt }
}

/**
 * A car's desired state in a word: `locked`, `warning`, `final-warning` or `unlocked`. Reconciliation
 * compares these, never versions, reasons or messages: a car warned by a function and one warned by a
 * reconciliation are in the same state.
 *
 * @example
 * immobilizerMeaning({ locked: false, immobilizer: { stage: 'warning' } }) // 'warning'
 */
export function immobilizerMeaning(desired: DeviceDesired): string {
  if (desired.locked) return 'locked'
  const stage = desired.immobilizer?.stage
  return stage === 'warning' || stage === 'final-warning' ? stage : 'unlocked'
}
