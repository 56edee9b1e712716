import { carLoanAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'
import { loanDeadline } from '../lib/loanDeadline.js'

/**
 * Gives the final warning `finalWarning` (at least 48 hours) before the car may be disabled: in the first
 * block at the loan's `finalWarningAt` = lockAt - finalWarning, if the installment is still unpaid.
 */
export default defineFunction({
  trigger: loanDeadline('finalWarningAt'),
  capabilities: { devices: { actions: ['warn'] } },
  async handler(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    // 2 = final warning; at 3 the lock function of this block disables the car instead.
    const stage = await ctx.chain.read({ ...read, functionName: 'stageOf' })
    if (stage !== 2) {
      ctx.log.info(`loan ${loanId} is at stage ${stage} at block ${ctx.block.number}; no final warning`)
      return
    }
    const [loan, policy] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
      ctx.chain.read({ ...read, functionName: 'policyOf' }),
    ])
    // A retried run must never step a disabled car back to a warning.
    const device = await ctx.devices.get(loan.car)
    if (device.desired?.locked) return
    const lockAt = loan.nextDueAt + loan.grace
    const result = await ctx.devices.warn(loan.car, {
      final: true,
      since: ctx.deadline.at,
      // the warning stage began at the missed due date: a car that missed that warning still counts it
      warningSince: loan.nextDueAt,
      lockAt,
      policy,
    })
    ctx.log.info(`loan ${loanId}: final warning to car ${loan.car} (version ${result.version})`)
  },
})
