import { carLoanAbi, carWalletAbi, testUsdAbi } from '@pbj/contracts'
import { defineFunction } from 'pbj'
import { loanDeadline } from '../lib/loanDeadline.js'

/**
 * Autopay: in the first block at an installment's due date, if the car's wallet holds at least that
 * installment, pbj's relayer calls `CarWallet.payDue()` (anyone may) so the wallet pays from its own
 * balance; the owner does nothing. The transaction is idempotent by job: a retried run gets the one its
 * first attempt sent. An empty (or short) wallet pays nothing, and the warning and lock path goes on.
 */
export default defineFunction({
  trigger: loanDeadline('nextDueAt'),
  // Each loan has its own wallet, known only at run time; payDue() takes no value and pays the loan the
  // wallet was made for, so calling it on any address risks at most the operator's gas.
  capabilities: { write: [{ contract: '*', functionName: 'payDue()' }] },
  async handler(ctx) {
    const loanId = BigInt(ctx.deadline.key)
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [loanId] } as const
    const [payable, loan] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'isPayable' }),
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
    ])
    if (!payable) {
      ctx.log.info(`loan ${loanId} has nothing payable at block ${ctx.block.number}; no autopay`)
      return
    }
    // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min takes numbers)
    const due = loan.installment < loan.outstanding ? loan.installment : loan.outstanding
    const token = await ctx.chain.read({ contract: 'CarLoan', abi: carLoanAbi, functionName: 'token' })
    const balance = await ctx.chain.read({
      contract: token,
      abi: testUsdAbi,
      functionName: 'balanceOf',
      args: [loan.wallet],
    })
    if (balance < due) {
      ctx.log.info(`loan ${loanId}: wallet ${loan.wallet} holds ${balance}, below the ${due} due; no autopay`)
      return
    }
    const { hash } = await ctx.chain.write({
      contract: loan.wallet,
      abi: carWalletAbi,
      functionName: 'payDue',
    })
    ctx.log.info(`loan ${loanId}: autopay of ${due} from wallet ${loan.wallet} sent (${hash})`)
  },
})
