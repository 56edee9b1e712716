/**
 * Anvil's well-known dev accounts (mnemonic "test test test test test test test test test test test junk",
 * indexes 0–2), each funded with 10,000 ETH on every fresh Anvil. Public knowledge: never use them on a
 * real network.
 *
 * - `lender` (index 0) deploys the demo contracts and lends.
 * - `owner` (index 1) owns and borrows for the car.
 * - `operator` (index 2) is pbj's engine key, allowed to command the car.
 *
 * @example
 * const lender = privateKeyToAccount(demoAccounts.lender.privateKey)
 */
export const demoAccounts = {
  lender: {
    address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  },
  owner: {
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  },
  operator: {
    address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    privateKey: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  },
} as const

/** One of {@link demoAccounts}, or a caller-supplied replacement with the same shape. */
export type DemoAccount = { readonly address: `0x${string}`; readonly privateKey: `0x${string}` }
