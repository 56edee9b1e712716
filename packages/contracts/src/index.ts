/**
 * ABIs of the pbj contracts, as plain `as const` data.
 *
 * This module is bundled into sandboxed user functions, so it must stay pure data: no viem, no Node APIs,
 * no imports beyond the generated ABIs (built by `npm run build:contracts`).
 *
 * @example
 * import { carLoanAbi } from '@pbj/contracts'
 * const loan = await client.readContract({ address, abi: carLoanAbi, functionName: 'getLoan', args: [1n] })
 */
export {
  carLoanAbi,
  carWalletAbi,
  deviceRegistryAbi,
  executionBalanceAbi,
  testUsdAbi,
} from './generated/abis.js'
export {
  carLoanDomain,
  deviceRegistrationTypes,
  deviceRegistryDomain,
  loanConsentTypes,
} from './typedData.js'
