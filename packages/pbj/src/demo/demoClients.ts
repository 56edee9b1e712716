import { createPublicClient, createWalletClient, defineChain, type Hex, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { demoAccounts } from './accounts.js'

/**
 * viem clients for the demo: one public client plus a wallet client per demo account, all on `rpcUrl`.
 *
 * Polls every 50 ms instead of viem's 4 s default: the demo runs on an automining Anvil, where a receipt
 * exists as soon as the transaction is sent.
 *
 * @example
 * const { publicClient, owner } = demoClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
 * const hash = await owner.sendTransaction({ to: demoAccounts.lender.address, value: 1n })
 * await publicClient.waitForTransactionReceipt({ hash })
 */
export function demoClients(params: { rpcUrl: string; chainId: number; lenderKey?: Hex | undefined }) {
  const chain = defineChain({ ...anvil, id: params.chainId, rpcUrls: { default: { http: [params.rpcUrl] } } })
  const transport = http(params.rpcUrl)
  const pollingInterval = 50
  const wallet = (privateKey: Hex) =>
    createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport, pollingInterval })
  return {
    chain,
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    lender: wallet(params.lenderKey ?? demoAccounts.lender.privateKey),
    owner: wallet(demoAccounts.owner.privateKey),
    operator: wallet(demoAccounts.operator.privateKey),
  }
}

/** The clients {@link demoClients} returns. */
export type DemoClients = ReturnType<typeof demoClients>
