import { carLoanAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'

/**
 * Unlocks the car (and clears its warnings) when an installment is paid and the loan is current again.
 * A payment that leaves an earlier due date still missed takes a locked car back to the warning stage.
 */
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
  // lock only in onReorg: the payment that unlocked the car was reorged out.
  capabilities: { devices: { actions: ['unlock', 'warn', 'lock'] } },
  async handler(ctx) {
    const { loanId, outstanding } = ctx.event.args
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    // 0 current, 1 warning, 2 final warning, 3 delinquent (see CarLoan.stageOf)
    const stage = await ctx.chain.read({ ...read, functionName: 'stageOf' })
    if (stage === 3) return
    const loan = await ctx.chain.read({ ...read, functionName: 'getLoan' })
    const device = await ctx.devices.get(loan.car)
    const desired = device.desired?.locked ? 'disable' : (device.desired?.immobilizer?.stage ?? 'none')
    if (stage === 0) {
      if (desired === 'none') return
      await ctx.devices.unlock(loan.car, { reason: 'paid' })
      ctx.log.info(`loan ${loanId} paid (outstanding ${outstanding}): car ${loan.car} unlocked`)
      return
    }
    if (desired !== 'disable') return
    const policy = await ctx.chain.read({ ...read, functionName: 'policyOf' })
    const lockAt = loan.nextDueAt + loan.grace
    await ctx.devices.warn(loan.car, {
      final: stage === 2,
      reason: 'paid',
      warningSince: loan.nextDueAt,
      lockAt,
      policy,
    })
    ctx.log.info(`loan ${loanId} paid one installment but is still past due: car ${loan.car} back to warning`)
  },
  // The payment was reorged out: if the loan is behind on the chain as it is now, lock (or warn) again.
  async onReorg(ctx) {
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [ctx.event.args.loanId] } as const
    const stage = await ctx.chain.read({ ...read, functionName: 'stageOf' })
    if (stage === 0) return
    const [loan, policy] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
      ctx.chain.read({ ...read, functionName: 'policyOf' }),
    ])
    const lockAt = loan.nextDueAt + loan.grace
    if (stage === 3) {
      await ctx.devices.lock(loan.car, { reason: 'payment-reorged-out', lockAt, policy })
      ctx.log.warn(`loan ${ctx.event.args.loanId}'s payment was reorged out: car locked again`)
    } else {
      await ctx.devices.warn(loan.car, {
        final: stage === 2,
        reason: 'payment-reorged-out',
        warningSince: loan.nextDueAt,
        lockAt,
        policy,
      })
      ctx.log.warn(`loan ${ctx.event.args.loanId}'s payment was reorged out: car warned again`)
    }
  },
})
