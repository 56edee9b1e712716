import { carLoanAbi, testUsdAbi } from '@pbj/contracts'
import { type Address, maxUint256 } from 'viem'
import { createDemoCar } from '#pbj/demo/createDemoCar.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'

/** A demo car with a loan that can take `installments` payments, one InstallmentPaid each. */
export type BenchLoan = { loanId: bigint; deviceId: Address; installment: bigint }

/**
 * Makes a car and a loan of `installments` installments of 1 tUSD (the owner gets 10,000 tUSD with every
 * car, so the loan never runs out of funds before it runs out of installments), and lets CarLoan take the
 * owner's tUSD so the owner can pay installments directly. Needs automine on.
 *
 * Why `CarLoan.payInstallment` from the owner rather than `CarWallet.reload`: the wallet only pays an
 * installment that is payable (due within one period), so after one reload the next would need chain time
 * to jump a whole period per sample, which would move the clock under the rest of the bench. The event a
 * baseline hears is the same CarLoan `InstallmentPaid` either way.
 *
 * @example
 * const loan = await createBenchLoan(stack, 40)
 */
export async function createBenchLoan(stack: DemoStack, installments: number): Promise<BenchLoan> {
  const installment = 1_000_000n
  const car = await createDemoCar(stack.deployment, { installment, installments })
  const { publicClient, owner } = demoClients({ rpcUrl: stack.rpcUrl, chainId: stack.deployment.chainId })
  const { CarLoan, TestUSD } = stack.deployment.contracts
  const allowance = await publicClient.readContract({
    address: TestUSD,
    abi: testUsdAbi,
    functionName: 'allowance',
    args: [owner.account.address, CarLoan],
  })
  if (allowance < installment * BigInt(installments)) {
    const hash = await owner.writeContract({
      address: TestUSD,
      abi: testUsdAbi,
      functionName: 'approve',
      args: [CarLoan, maxUint256],
    })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`approving CarLoan for the owner reverted (${hash})`)
  }
  // The loan must take every sample's payment: a repaid loan would make payInstallment revert mid-run.
  const loan = await publicClient.readContract({
    address: CarLoan,
    abi: carLoanAbi,
    functionName: 'getLoan',
    args: [car.loanId],
  })
  if (loan.outstanding !== installment * BigInt(installments))
    throw new Error(`loan ${car.loanId} owes ${loan.outstanding}, not ${installments} installments`)
  return { loanId: car.loanId, deviceId: car.deviceId, installment }
}
