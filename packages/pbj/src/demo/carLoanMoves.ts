import type { CarMove } from './createBlockMiner.js'

/**
 * What each of the example car-loan functions makes the car do: its function, and the lock flag and
 * immobilizer stage the car then reports. Shared by the demo and the benchmarks that wait for those moves.
 *
 * @example
 * await miner.mineAndAwait([car.deviceId], carLoanMoves.lock, lockAt)
 */
export const carLoanMoves = {
  warning: { functionName: 'warnOnMissedDueDate', locked: false, stage: 'warning' },
  'final-warning': { functionName: 'finalWarningBeforeLock', locked: false, stage: 'final-warning' },
  lock: { functionName: 'lockOnMissedPayment', locked: true, stage: 'disable' },
  unlock: { functionName: 'unlockOnPayment', locked: false, stage: 'none' },
} as const satisfies Record<string, CarMove>
