import {
  carLoanAbi,
  carLoanBytecode,
  deviceRegistryAbi,
  deviceRegistryBytecode,
  executionBalanceAbi,
  executionBalanceBytecode,
  testUsdAbi,
  testUsdBytecode,
} from '@pbj/contracts/artifacts'
import { type Abi, type Address, createPublicClient, getAddress, type Hex, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DemoDeployError, TransactionRevertedError } from '../internal/errors.js'
import { type DemoAccount, demoAccounts } from './accounts.js'
import { type DemoClients, demoClients } from './demoClients.js'

export type DemoDeployment = {
  chainId: number
  rpcUrl: string
  contracts: { TestUSD: Address; DeviceRegistry: Address; CarLoan: Address; ExecutionBalance: Address }
  accounts: { lender: DemoAccount; owner: DemoAccount; operator: DemoAccount }
}

/**
 * Deploys the demo contracts (TestUSD, DeviceRegistry, CarLoan — which opens loans only for a car's owner in
 * that registry — and ExecutionBalance whose operator is the
 * demo operator) from the lender account and waits for each receipt. Prints nothing. Needs a dev chain whose default Anvil accounts hold ETH.
 *
 * @example
 * const anvil = await startAnvil()
 * const deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
 * const car = await createDemoCar(deployment, { installment: 250_000_000n })
 */
export async function deployDemo(params: {
  rpcUrl: string
  deployerKey?: Hex | undefined
}): Promise<DemoDeployment> {
  const { rpcUrl } = params
  const lender: DemoAccount = params.deployerKey
    ? { address: privateKeyToAccount(params.deployerKey).address, privateKey: params.deployerKey }
    : demoAccounts.lender
  try {
    const chainId = await createPublicClient({ transport: http(rpcUrl) }).getChainId()
    const clients = demoClients({ rpcUrl, chainId, lenderKey: lender.privateKey })
    const TestUSD = await deploy(clients, testUsdAbi, testUsdBytecode, [])
    const DeviceRegistry = await deploy(clients, deviceRegistryAbi, deviceRegistryBytecode, [])
    const CarLoan = await deploy(clients, carLoanAbi, carLoanBytecode, [TestUSD, DeviceRegistry])
    // Last, so the other contracts keep the addresses they had before prepaid execution existed.
    const ExecutionBalance = await deploy(clients, executionBalanceAbi, executionBalanceBytecode, [
      TestUSD,
      demoAccounts.operator.address,
    ])
    return {
      chainId,
      rpcUrl,
      contracts: { TestUSD, DeviceRegistry, CarLoan, ExecutionBalance },
      accounts: { lender, owner: demoAccounts.owner, operator: demoAccounts.operator },
    }
  } catch (cause) {
    throw new DemoDeployError({ rpcUrl, cause })
  }
}

async function deploy(
  clients: DemoClients,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Address> {
  const hash = await clients.lender.deployContract({ abi, bytecode, args })
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new TransactionRevertedError({ hash, what: 'Demo contract deployment' })
  }
  // Receipts carry lowercase addresses; checksum them so they compare equal to what events decode to.
  return getAddress(receipt.contractAddress)
}
