import { carLoanAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'

/**
 * Locks the car in the first block whose chain time reaches the loan's due date plus its grace period.
 * The deadline is a timer per loan, re-armed by every payment: pbj does no work per loan per block.
 */
export default defineFunction({
  trigger: {
    type: 'deadline',
    contract: 'CarLoan',
    abi: carLoanAbi,
    set: {
      LoanOpened: { key: 'loanId', at: 'lockAt' },
      InstallmentPaid: { key: 'loanId', at: 'lockAt' },
    },
    clear: { LoanRepaid: { key: 'loanId' } },
  },
  async handler(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    // The timer says "maybe"; the contract says whether the borrower is really behind at this block.
    const delinquent = await ctx.chain.read({
      contract: 'CarLoan',
      abi: carLoanAbi,
      functionName: 'isDelinquent',
      args: [loanId],
    })
    if (!delinquent) {
      ctx.log.info(`loan ${loanId} is current at block ${ctx.block.number}; not locking`)
      return
    }
    const loan = await ctx.chain.read({
      contract: 'CarLoan',
      abi: carLoanAbi,
      functionName: 'getLoan',
      args: [loanId],
    })
    const result = await ctx.devices.lock(loan.car, { reason: 'missed-payment' })
    ctx.log.info(`loan ${loanId} is past due + grace: car ${loan.car} locked (version ${result.version})`)
  },
  // The block that locked the car was reorged out: if the loan is current on the chain as it is now, unlock.
  async onReorg(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    if (await ctx.chain.read({ ...read, functionName: 'isDelinquent' })) return
    const loan = await ctx.chain.read({ ...read, functionName: 'getLoan' })
    await ctx.devices.unlock(loan.car, { reason: 'reorg' })
    ctx.log.warn(
      `the block that locked loan ${loanId}'s car was reorged out and the loan is current: unlocked`,
    )
  },
})
