import { parseAbi } from 'viem'

/** What `carStatus(car)` returns on a CarLoan-compatible contract. */
export type CarStatus = readonly [
  loanId: bigint,
  stage: number,
  nextDueAt: bigint,
  lockAt: bigint,
  finalWarningAt: bigint,
  policy: { warningPeriod: bigint; finalWarning: bigint; emergencyStarts: number; emergencyDuration: bigint },
]

/**
 * The one view the class reads, inline: any loan contract with this view can drive immobilizers (and the
 * class stays loadable from a config file, which must not import `@pbj/*` TypeScript sources).
 */
export const carStatusAbi = parseAbi([
  'struct Policy { uint64 warningPeriod; uint64 finalWarning; uint32 emergencyStarts; uint64 emergencyDuration; }',
  'function carStatus(address car) view returns (uint256 loanId, uint8 stage, uint64 nextDueAt, uint64 lockAt, uint64 finalWarningAt, Policy policy)',
])

/** The two views the class lists the cars of a loan contract with (DeviceClass.listDevices). */
export const loanListAbi = parseAbi([
  'struct Loan { address borrower; address car; address wallet; address lender; uint256 installment; uint64 period; uint64 grace; uint64 nextDueAt; uint256 outstanding; }',
  'function loanCount() view returns (uint256)',
  'function getLoan(uint256 loanId) view returns (Loan)',
])

/** The registry view the cars check a command's signer with; probed at start (DeviceClass.verify). */
export const registryProbeAbi = parseAbi([
  'function isOperator(address device, address operator) view returns (bool)',
])
