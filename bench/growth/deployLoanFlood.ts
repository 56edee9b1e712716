import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
} from 'viem'
import { anvil as anvilChain } from 'viem/chains'
import type { CompiledLoanFlood } from './compileLoanFlood.js'

/** Anvil's first unlocked account: Anvil signs its transactions itself (no nonce bookkeeping here). */
const sender: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
/**
 * Enough for a LoanOpened event (~5.5k gas) per log; set so nothing is estimated. 2,000 a transaction (the
 * largest flood blocks) ask 14.1 M gas, under Anvil's default 30 M block gas limit.
 */
const gasPerLog = 7_000n
const baseGas = 100_000n

/** A deployed LoanFlood and the calls the benchmark makes on it. */
export type LoanFlood = {
  address: Address
  client: PublicClient
  /** Emits `count` LoanOpened events (loans `firstLoanId`…) in one transaction and block. */
  open(firstLoanId: bigint, count: number, at: LoanTimes): Promise<void>
  /** One InstallmentPaid per loan, in one transaction and block; `warnAts[i]` is loan i's new warnAt. */
  pay(loanIds: readonly bigint[], warnAts: readonly bigint[], at: LoanTimes): Promise<void>
  /** The latest block's number and timestamp. */
  head(): Promise<{ number: bigint; timestamp: bigint }>
}

/** The chain times LoanOpened and InstallmentPaid carry, which the car-loan deadline triggers key on. */
export type LoanTimes = { nextDueAt: bigint; lockAt: bigint; warnAt: bigint; finalWarningAt: bigint }

/**
 * Deploys LoanFlood, then turns automine off: each call is one transaction mined in its own block. Sets a block timestamp interval of 1 s, so each block's time
 * is the previous one's plus one second and a timer armed for "next block" falls due exactly then.
 *
 * @example
 * const flood = await deployLoanFlood(anvil.rpcUrl, await compileLoanFlood())
 * await flood.open(1n, 200, times)
 */
export async function deployLoanFlood(rpcUrl: string, compiled: CompiledLoanFlood): Promise<LoanFlood> {
  const transport = http(rpcUrl)
  const client = createPublicClient({ chain: anvilChain, transport })
  const wallet = createWalletClient({ chain: anvilChain, transport, account: sender })
  const test = createTestClient({ chain: anvilChain, transport, mode: 'anvil' })
  await test.setBlockTimestampInterval({ interval: 1 })
  await test.setAutomine(false)
  const deployHash = await wallet.deployContract({ abi: compiled.abi, bytecode: compiled.bytecode })
  await test.mine({ blocks: 1 })
  const receipt = await client.getTransactionReceipt({ hash: deployHash })
  const address = receipt.contractAddress
  if (!address) throw new Error('LoanFlood was not deployed')
  const { abi } = compiled
  const send = async (functionName: string, args: readonly unknown[], logs: number) => {
    const hash: Hex = await wallet.writeContract({
      address,
      abi,
      functionName,
      args,
      gas: baseGas + gasPerLog * BigInt(logs),
    })
    // Mined explicitly: automine answers eth_sendTransaction before its block is there.
    await test.mine({ blocks: 1 })
    const mined = await client.getTransactionReceipt({ hash })
    if (mined.status !== 'success') throw new Error(`LoanFlood.${functionName} reverted`)
  }
  return {
    address,
    client,
    open: (firstLoanId, count, at) =>
      send(
        'open',
        [firstLoanId, BigInt(count), [at.nextDueAt, at.lockAt, at.warnAt, at.finalWarningAt]],
        count,
      ),
    pay: (loanIds, warnAts, at) =>
      send('pay', [loanIds, warnAts, at.nextDueAt, at.lockAt, at.finalWarningAt], loanIds.length),
    head: async () => {
      const block = await client.getBlock({ blockTag: 'latest' })
      return { number: block.number, timestamp: block.timestamp }
    },
  }
}
