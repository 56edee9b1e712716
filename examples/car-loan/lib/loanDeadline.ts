import { carLoanAbi } from '@pbj/contracts'

/**
 * A `deadline` trigger with a timer per loan at one of the chain times its events carry (`warnAt`,
 * `finalWarningAt`, `lockAt`, `nextDueAt`): armed when the loan opens, re-armed by every payment, cleared when
 * it is repaid. Shared by the car-loan functions; pbj bundles it into each of them.
 *
 * @example
 * export default defineFunction({ trigger: loanDeadline('lockAt'), async handler(ctx) { … } })
 */
export function loanDeadline<const at extends 'warnAt' | 'finalWarningAt' | 'lockAt' | 'nextDueAt'>(at: at) {
  return {
    type: 'deadline',
    contract: 'CarLoan',
    abi: carLoanAbi,
    set: { LoanOpened: { key: 'loanId', at }, InstallmentPaid: { key: 'loanId', at } },
    clear: { LoanRepaid: { key: 'loanId' } },
  } as const
}
