/** The one CarLoan event this app indexes (kept here so the app does not depend on the monorepo's packages). */
export const installmentPaidAbi = [
  {
    type: 'event',
    name: 'InstallmentPaid',
    inputs: [
      { name: 'loanId', type: 'uint256', indexed: true },
      { name: 'payer', type: 'address', indexed: true },
      { name: 'amount', type: 'uint256', indexed: false },
      { name: 'outstanding', type: 'uint256', indexed: false },
      { name: 'nextDueAt', type: 'uint64', indexed: false },
      { name: 'lockAt', type: 'uint64', indexed: false },
      { name: 'warnAt', type: 'uint64', indexed: false },
      { name: 'finalWarningAt', type: 'uint64', indexed: false },
    ],
    anonymous: false,
  },
] as const
