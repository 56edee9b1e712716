/**
 * The EIP-712 types of the consents the contracts check, as plain `as const` data in viem's format: what a
 * device's key signs to be registered (DeviceRegistry) and what a borrower signs to consent to a loan's terms
 * and immobilizer policy (CarLoan). Pure data, like the ABIs, so any tool can sign them.
 *
 * @example
 * import { loanConsentTypes, carLoanDomain } from '@pbj/contracts'
 * await borrower.signTypedData({ domain: carLoanDomain(31337, carLoan), types: loanConsentTypes, primaryType: 'LoanConsent', message })
 */

/** DeviceRegistration(device, owner, deadline): signed by the device's own key, in pbj's domain. */
export const deviceRegistrationTypes = {
  DeviceRegistration: [
    { name: 'device', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const

/** LoanConsent: the borrower's signature over a loan's terms, its immobilizer policy, a nonce and a deadline. */
export const loanConsentTypes = {
  LoanConsent: [
    { name: 'borrower', type: 'address' },
    { name: 'car', type: 'address' },
    { name: 'wallet', type: 'address' },
    { name: 'lender', type: 'address' },
    { name: 'installment', type: 'uint256' },
    { name: 'period', type: 'uint64' },
    { name: 'grace', type: 'uint64' },
    { name: 'installments', type: 'uint32' },
    { name: 'firstDueAt', type: 'uint64' },
    { name: 'policy', type: 'Policy' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
  Policy: [
    { name: 'warningPeriod', type: 'uint64' },
    { name: 'finalWarning', type: 'uint64' },
    { name: 'emergencyStarts', type: 'uint32' },
    { name: 'emergencyDuration', type: 'uint64' },
  ],
} as const

/** DeviceRegistry's domain: pbj's own (commands and reports are signed in it too). */
export const deviceRegistryDomain = (chainId: number, registry: `0x${string}`) =>
  ({ name: 'pbj', version: '1', chainId, verifyingContract: registry }) as const

/** CarLoan's domain, for the borrower's consent. */
export const carLoanDomain = (chainId: number, carLoan: `0x${string}`) =>
  ({ name: 'pbj CarLoan', version: '1', chainId, verifyingContract: carLoan }) as const
