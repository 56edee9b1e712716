import { carLoanAbi, testUsdAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'
import { loanDeadline } from '../lib/loanDeadline.js'

/**
 * Starts the car's warning stage in the first block past a missed due date: the car shows that the payment
 * is overdue and from when it can be disabled. The car refuses a disable it was not warned of for the
 * loan's `warningPeriod` (California Civil Code §2983.37), so this warning is what lets the lock through.
 * A wallet that holds the installment is not warned: autopayWhenDue pays it from this same block. (Should
 * that payment not land, the final warning still counts the warning stage from the due date.)
 */
export default defineFunction({
  trigger: loanDeadline('warnAt'),
  capabilities: { devices: { actions: ['warn'] } },
  async handler(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    // 1 = a due date is missed; later stages belong to the final-warning and lock functions of this block.
    const stage = await ctx.chain.read({ ...read, functionName: 'stageOf' })
    if (stage !== 1) {
      ctx.log.info(`loan ${loanId} is at stage ${stage} at block ${ctx.block.number}; no warning`)
      return
    }
    const [loan, policy] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
      ctx.chain.read({ ...read, functionName: 'policyOf' }),
    ])
    // A retried run must never step a car back from a later stage.
    const device = await ctx.devices.get(loan.car)
    const desired = device.desired?.locked ? 'disable' : device.desired?.immobilizer?.stage
    if (desired === 'disable' || desired === 'final-warning') return
    // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min takes numbers)
    const due = loan.installment < loan.outstanding ? loan.installment : loan.outstanding
    const token = await ctx.chain.read({ contract: 'CarLoan', abi: carLoanAbi, functionName: 'token' })
    const held = await ctx.chain.read({
      contract: token,
      abi: testUsdAbi,
      functionName: 'balanceOf',
      args: [loan.wallet],
    })
    if (held >= due) {
      ctx.log.info(
        `loan ${loanId}: wallet ${loan.wallet} holds the installment; autopay collects it, no warning`,
      )
      return
    }
    const lockAt = loan.nextDueAt + loan.grace
    const result = await ctx.devices.warn(loan.car, { since: ctx.deadline.at, lockAt, policy })
    ctx.log.info(`loan ${loanId} missed its due date: car ${loan.car} warned (version ${result.version})`)
  },
})
