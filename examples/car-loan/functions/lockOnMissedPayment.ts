import { carLoanAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'
import { loanDeadline } from '../lib/loanDeadline.js'

/**
 * Locks the car in the first block whose chain time reaches the loan's due date plus its grace period.
 * The deadline is a timer per loan, re-armed by every payment: pbj does no work per loan per block. The
 * lock carries the loan's immobilizer policy: the car checks it showed the warning and the final warning
 * long enough, and disables only the next start (never a car that is moving).
 */
export default defineFunction({
  trigger: loanDeadline('lockAt'),
  // unlock and warn only in onReorg: undoing a lock whose block was reorged out.
  capabilities: { devices: { actions: ['lock', 'unlock', 'warn'] } },
  async handler(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    // The timer says "maybe"; the contract says whether the borrower is really behind at this block. The
    // three reads go together (one round trip; pbj batches a block's reads into one call to the node).
    const [delinquent, loan, policy] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'isDelinquent' }),
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
      ctx.chain.read({ ...read, functionName: 'policyOf' }),
    ])
    if (!delinquent) {
      ctx.log.info(`loan ${loanId} is current at block ${ctx.block.number}; not locking`)
      return
    }
    const lockAt = loan.nextDueAt + loan.grace
    const result = await ctx.devices.lock(loan.car, { reason: 'missed-payment', lockAt, policy })
    ctx.log.info(`loan ${loanId} is past due + grace: car ${loan.car} locked (version ${result.version})`)
  },
  // The block that locked the car was reorged out: put the car in the stage the chain as it is now says.
  async onReorg(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    const stage = await ctx.chain.read({ ...read, functionName: 'stageOf' })
    if (stage === 3) return
    const [loan, policy] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
      ctx.chain.read({ ...read, functionName: 'policyOf' }),
    ])
    if (stage === 0) {
      await ctx.devices.unlock(loan.car, { reason: 'reorg' })
    } else {
      // Still past due: back to the warning the car owes, which keeps the history it already showed.
      const lockAt = loan.nextDueAt + loan.grace
      await ctx.devices.warn(loan.car, {
        final: stage === 2,
        reason: 'reorg',
        warningSince: loan.nextDueAt,
        lockAt,
        policy,
      })
    }
    ctx.log.warn(
      `the block that locked loan ${loanId}'s car was reorged out and the loan is not delinquent: ${stage === 0 ? 'unlocked' : 'back to its warning'}`,
    )
  },
})
