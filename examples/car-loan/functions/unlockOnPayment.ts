import { carLoanAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'

/** Unlocks the car when an installment is paid and the loan is no longer delinquent. */
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
  async handler(ctx) {
    const { loanId, outstanding } = ctx.event.args
    const delinquent = await ctx.chain.read({
      contract: 'CarLoan',
      abi: carLoanAbi,
      functionName: 'isDelinquent',
      args: [loanId],
    })
    const loan = await ctx.chain.read({
      contract: 'CarLoan',
      abi: carLoanAbi,
      functionName: 'getLoan',
      args: [loanId],
    })
    const device = await ctx.devices.get(loan.car)
    if (delinquent || !device.desired?.locked) return
    await ctx.devices.unlock(loan.car, { reason: 'paid' })
    ctx.log.info(`loan ${loanId} paid (outstanding ${outstanding}): car ${loan.car} unlocked`)
  },
})
