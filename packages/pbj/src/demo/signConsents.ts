import {
  carLoanDomain,
  deviceRegistrationTypes,
  deviceRegistryDomain,
  loanConsentTypes,
} from '@pbj/contracts'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

/** How long a consent signed here stays usable: one hour of chain time. */
const consentLifetime = 3_600n

/**
 * The device key's proof of possession that DeviceRegistry.register checks: an EIP-712 DeviceRegistration
 * of `device` to `owner` in pbj's domain, valid until `deadline` (unix seconds of chain time).
 *
 * @example
 * const { signature, deadline } = await signDeviceRegistration({ devicePrivateKey, owner, chainId, registry, now })
 * await lender.writeContract({ address: registry, abi: deviceRegistryAbi, functionName: 'register', args: [device, owner, deadline, signature] })
 */
export async function signDeviceRegistration(params: {
  devicePrivateKey: Hex
  owner: Address
  chainId: number
  registry: Address
  /** Chain time now (unix seconds); the signature is valid for an hour after it. */
  now: bigint
}): Promise<{ device: Address; deadline: bigint; signature: Hex }> {
  const account = privateKeyToAccount(params.devicePrivateKey)
  const deadline = params.now + consentLifetime
  const signature = await account.signTypedData({
    domain: deviceRegistryDomain(params.chainId, params.registry),
    types: deviceRegistrationTypes,
    primaryType: 'DeviceRegistration',
    message: { device: account.address, owner: params.owner, deadline },
  })
  return { device: account.address, deadline, signature }
}

/** A loan's terms, as CarLoan.openLoan takes them (its `Terms` struct). */
export type LoanTerms = {
  borrower: Address
  car: Address
  wallet: Address
  lender: Address
  installment: bigint
  period: bigint
  grace: bigint
  installments: number
  firstDueAt: bigint
}

/** A loan's immobilizer policy, as CarLoan takes it (its `Policy` struct). */
export type LoanPolicy = {
  warningPeriod: bigint
  finalWarning: bigint
  emergencyStarts: number
  emergencyDuration: bigint
}

/**
 * The borrower's consent that CarLoan.openLoan checks: an EIP-712 LoanConsent over the terms and the
 * immobilizer policy (the disclosure at sale, Cal. Civ. Code §2983.37), with the borrower's current
 * `CarLoan.consentNonce` and a deadline an hour of chain time after `now`.
 *
 * @example
 * const consent = await signLoanConsent({ borrowerKey, terms, policy, nonce: 0n, chainId, carLoan, now })
 * await lender.writeContract({ address: carLoan, abi: carLoanAbi, functionName: 'openLoan', args: [terms, policy, consent.deadline, consent.signature] })
 */
export async function signLoanConsent(params: {
  borrowerKey: Hex
  terms: LoanTerms
  policy: LoanPolicy
  nonce: bigint
  chainId: number
  carLoan: Address
  now: bigint
}): Promise<{ deadline: bigint; signature: Hex }> {
  const deadline = params.now + consentLifetime
  const signature = await privateKeyToAccount(params.borrowerKey).signTypedData({
    domain: carLoanDomain(params.chainId, params.carLoan),
    types: loanConsentTypes,
    primaryType: 'LoanConsent',
    message: { ...params.terms, policy: params.policy, nonce: params.nonce, deadline },
  })
  return { deadline, signature }
}
