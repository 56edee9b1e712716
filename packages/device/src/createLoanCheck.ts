import { type Address, type PublicClient, parseAbi } from 'viem'
import { connectChain } from './connectChain.js'

/** The one view the car reads: its one active loan's stage on a CarLoan-compatible contract. */
const carStatusAbi = parseAbi([
  'struct Policy { uint64 warningPeriod; uint64 finalWarning; uint32 emergencyStarts; uint64 emergencyDuration; }',
  'function carStatus(address car) view returns (uint256 loanId, uint8 stage, uint64 nextDueAt, uint64 lockAt, uint64 finalWarningAt, Policy policy)',
])

/**
 * The car's own reading of its loan: whether its one active loan is delinquent at the newest block.
 *
 * @example
 * if (!(await loans.delinquent())) refuse('not-delinquent')
 */
export type LoanCheck = { delinquent(): Promise<{ delinquent: boolean; loanId: bigint; stage: number }> }

/**
 * Reads `carStatus(car)` on the loan contract the car is financed under, at the newest block. A car that
 * knows its loan contract checks every lock itself, so a lock reaches its starter only while its one active
 * loan is delinquent — even one signed by an operator the registry's owner added behind pbj's back, whose
 * commands pass no engine-side guard. One small read, on the (rare) lock path only.
 *
 * @example
 * const loans = createLoanCheck({ rpcUrl, loans: '0x…CarLoan', deviceId })
 * await loans.delinquent() // { delinquent: false, loanId: 1n, stage: 0 }
 */
export function createLoanCheck(options: {
  rpcUrl: string
  loans: string
  deviceId: string
  client?: PublicClient
}): LoanCheck {
  const client = options.client ?? connectChain(options.rpcUrl)
  return {
    async delinquent() {
      const [loanId, stage] = await client.readContract({
        address: options.loans as Address,
        abi: carStatusAbi,
        functionName: 'carStatus',
        args: [options.deviceId as Address],
        blockTag: 'latest',
      })
      return { delinquent: loanId !== 0n && stage === 3, loanId, stage }
    },
  }
}
