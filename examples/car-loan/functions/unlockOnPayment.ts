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
  // The payment was reorged out: if the loan is delinquent on the chain as it is now, lock the car again.
  async onReorg(ctx) {
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [ctx.event.args.loanId] } as const
    if (!(await ctx.chain.read({ ...read, functionName: 'isDelinquent' }))) return
    const loan = await ctx.chain.read({ ...read, functionName: 'getLoan' })
    await ctx.devices.lock(loan.car, { reason: 'payment-reorged-out' })
    ctx.log.warn(`loan ${ctx.event.args.loanId}'s payment was reorged out: car locked again`)
  },
})
