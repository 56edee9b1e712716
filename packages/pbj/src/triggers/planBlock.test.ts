import { carLoanAbi } from '@pbj/contracts'
import { testUsdAbi, testUsdBytecode } from '@pbj/contracts/artifacts'
import {
  type AbiEvent,
  type Address,
  createWalletClient,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  http,
  type Log,
  publicActions,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createChainConnection } from '../chain/createChainConnection.js'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import type { ChainConnection } from '../chain/types.js'
import type { BlockHeader } from '../core/block.js'
import type { BlockWrite } from '../core/blockWrite.js'
import type { Store } from '../core/store.js'
import type { Trigger } from '../function/triggers.js'
import { parseJson } from '../internal/json.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { createTriggerIndex } from './createTriggerIndex.js'
import { planBlock } from './planBlock.js'

// planBlock on real inputs: logs encoded as a node returns them (lowercase address and topics), a real
// SQLite store for timers and conditions, and a real Anvil for the condition reads.

const chainId = 31337
const carLoan: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
/** Anvil's first dev account (public test key). */
const devKey = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

const hashOf = (number: bigint, fork = 0) =>
  `0x${(BigInt(fork) * 1_000_000n + number).toString(16).padStart(64, '0')}` as Hex
const header = (number: bigint, timestamp: bigint, fork = 0): BlockHeader => ({
  number,
  hash: hashOf(number, fork),
  parentHash: hashOf(number - 1n),
  timestamp,
})

const eventOf = (name: string) =>
  carLoanAbi.find((x) => x.type === 'event' && x.name === name) as unknown as AbiEvent

/** A CarLoan log as `eth_getLogs` returns it. */
function carLoanLog(name: string, args: Record<string, unknown>, block: BlockHeader, logIndex: number): Log {
  const event = eventOf(name)
  const topics = encodeEventTopics({ abi: [event], eventName: name, args } as never) as Hex[]
  const plain = event.inputs.filter((i) => !('indexed' in i && i.indexed))
  return {
    address: carLoan.toLowerCase() as Address,
    topics: topics.map((t) => t.toLowerCase() as Hex) as [Hex, ...Hex[]],
    data: encodeAbiParameters(
      plain,
      plain.map((i) => args[i.name ?? ''] ?? (i.type === 'address' ? zeroAddress : 0n)),
    ),
    blockNumber: block.number,
    blockHash: block.hash,
    logIndex,
    transactionHash: `0x${'ab'.repeat(31)}${logIndex.toString(16).padStart(2, '0')}`,
    transactionIndex: logIndex,
    removed: false,
  }
}

const borrower = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const car = '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B'
const loanOpened = (loanId: bigint, lockAt: bigint, block: BlockHeader, logIndex = 0) =>
  carLoanLog('LoanOpened', { loanId, borrower, car, lockAt, installment: 10n ** 18n }, block, logIndex)
const installmentPaid = (loanId: bigint, lockAt: bigint, block: BlockHeader, logIndex = 0) =>
  carLoanLog('InstallmentPaid', { loanId, payer: borrower, amount: 10n ** 18n, lockAt }, block, logIndex)
const loanRepaid = (loanId: bigint, block: BlockHeader, logIndex = 0) =>
  carLoanLog('LoanRepaid', { loanId }, block, logIndex)

const deadline: Trigger = {
  type: 'deadline',
  contract: 'CarLoan',
  abi: carLoanAbi,
  set: {
    LoanOpened: { key: 'loanId', at: 'lockAt' },
    InstallmentPaid: { key: 'loanId', at: 'lockAt' },
  },
  clear: { LoanRepaid: { key: 'loanId' } },
}
const paid = (extra: Partial<Trigger> = {}): Trigger =>
  ({ type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid', ...extra }) as Trigger

let anvil: AnvilNode
let chain: ChainConnection
let store: Store
let warnings: string[]

beforeAll(async () => {
  anvil = await startAnvil()
  chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
})
afterAll(async () => {
  await chain?.close()
  await anvil?.stop()
})
beforeEach(() => {
  store = createSqliteStore({ path: ':memory:' })
  warnings = []
})
afterEach(async () => store.close())

/** Plans `block` for these functions, as processBlock does. */
function plan(functions: Record<string, Trigger>, block: BlockHeader, logs: readonly Log[] = []) {
  const index = createTriggerIndex(
    Object.entries(functions).map(([name, trigger]) => ({ name, trigger })),
    { CarLoan: carLoan },
  )
  return planBlock(
    { chainId, index, store, chain, logger: { warn: (m: string) => warnings.push(m) } },
    block,
    logs,
  )
}

/** Plans `block` and commits it, as the engine does before the next block. */
async function commit(functions: Record<string, Trigger>, block: BlockHeader, logs: readonly Log[] = []) {
  const write = await plan(functions, block, logs)
  await store.commitBlock(chainId, write)
  return write
}

const inputOf = (write: BlockWrite, i = 0) => parseJson<Record<string, unknown>>(write.jobs[i]?.input ?? '{}')
const jobIds = (write: BlockWrite) => write.jobs.map((j) => j.id)

describe('planBlock', () => {
  it('plans nothing for a block nothing watches, and still says what the block is', async () => {
    const block = header(7n, 1_000n)
    const write = await plan(
      { paid: paid(), every5: { type: 'blocks', every: 5 } },
      block,
      [loanRepaid(1n, block)], // an event no function watches
    )
    expect(write).toEqual({ block, jobs: [], timersSet: [], timersCleared: [], conditions: [] })
    expect(warnings).toEqual([])
  })

  describe('event', () => {
    it('runs once per matching log with its decoded args, the checksummed address and the log', async () => {
      const block = header(10n, 1_000n)
      const logs = [installmentPaid(1n, 2_000n, block, 0), installmentPaid(2n, 2_100n, block, 3)]
      const write = await plan({ paid: paid() }, block, logs)
      expect(jobIds(write)).toEqual([
        `${chainId}:${block.hash}:log0:paid`,
        `${chainId}:${block.hash}:log3:paid`,
      ])
      expect(inputOf(write, 1)).toEqual({
        block: { number: 10n, hash: block.hash, timestamp: 1_000n },
        chainId,
        event: {
          name: 'InstallmentPaid',
          args: expect.objectContaining({ loanId: 2n, payer: borrower, lockAt: 2_100n }),
          address: carLoan,
          logIndex: 3,
          transactionHash: logs[1]?.transactionHash,
        },
      })
      expect(write.jobs.map((j) => [j.blockNumber, j.readyAt, j.entry])).toEqual([
        [10n, 10n, 'handler'],
        [10n, 10n, 'handler'],
      ])
    })

    it('keeps only the logs whose args match the filter, and ignores other contracts', async () => {
      const block = header(11n, 1_000n)
      const other = '0x0000000000000000000000000000000000000Abc'
      const logs = [
        installmentPaid(1n, 2_000n, block, 0),
        installmentPaid(2n, 2_000n, block, 1),
        { ...installmentPaid(2n, 2_000n, block, 2), address: other.toLowerCase() as Address },
      ]
      const write = await plan({ loan2: paid({ args: { loanId: 2n } }) }, block, logs)
      expect(jobIds(write)).toEqual([`${chainId}:${block.hash}:log1:loan2`])
    })

    it('makes a run wait for its confirmations: n blocks deep, or the finalized block', async () => {
      const block = header(12n, 1_000n)
      const write = await plan(
        {
          now: paid(),
          deep: paid({ confirmation: { confirmations: 3 } }),
          final: paid({ confirmation: 'finalized' }),
        },
        block,
        [installmentPaid(1n, 2_000n, block)],
      )
      expect(write.jobs.map((j) => [j.functionName, j.readyAt])).toEqual([
        ['now', 12n],
        ['deep', 15n],
        ['final', null],
      ])
    })

    it('warns once for a log that does not decode, and plans nothing from it', async () => {
      const block = header(13n, 1_000n)
      const log = installmentPaid(1n, 2_000n, block, 4)
      const broken = { ...log, data: log.data.slice(0, -64) as Hex }
      const write = await plan({ paid: paid(), lock: deadline }, block, [broken])
      expect(write.jobs).toEqual([])
      expect(write.timersSet).toEqual([])
      expect(warnings).toHaveLength(1) // decoded once for both functions watching the event
      expect(warnings[0]).toMatch(/^Block 13: log 4 does not decode as InstallmentPaid/)
    })
  })

  describe('deadline', () => {
    it('arms a timer per key from the events, and clears it on the clear event', async () => {
      const block = header(20n, 1_000n)
      const write = await plan({ lock: deadline }, block, [
        loanOpened(1n, 1_500n, block, 0),
        loanOpened(2n, 1_600n, block, 1),
        installmentPaid(1n, 1_700n, block, 2), // re-arms loan 1 later in the same block
        loanRepaid(2n, block, 3),
      ])
      expect(write.jobs).toEqual([])
      expect(write.timersSet).toEqual([{ id: 'lock:1', functionName: 'lock', key: '1', at: 1_700n }])
      expect(write.timersCleared).toEqual(['lock:2'])
    })

    it('runs in the first block whose timestamp reaches the timer, then drops the timer', async () => {
      await commit({ lock: deadline }, header(20n, 1_000n), [loanOpened(1n, 1_500n, header(20n, 1_000n))])
      expect(jobIds(await commit({ lock: deadline }, header(21n, 1_499n)))).toEqual([])
      const due = header(22n, 1_512n)
      const write = await commit({ lock: deadline }, due)
      expect(jobIds(write)).toEqual([`${chainId}:${due.hash}:timer:lock:1:lock`])
      expect(inputOf(write)).toMatchObject({ deadline: { key: '1', at: 1_500n } })
      expect(write.timersCleared).toEqual(['lock:1'])
      expect(jobIds(await plan({ lock: deadline }, header(23n, 1_600n)))).toEqual([])
    })

    it('runs every deadline crossed in one block, including one set in that block, and not a moved one', async () => {
      const start = header(30n, 1_000n)
      await commit({ lock: deadline }, start, [
        loanOpened(1n, 1_100n, start, 0),
        loanOpened(2n, 1_050n, start, 1),
        loanOpened(3n, 1_090n, start, 2),
      ])
      const block = header(31n, 1_200n)
      const write = await plan({ lock: deadline }, block, [
        installmentPaid(3n, 2_000n, block, 0), // paid in time: its timer moves past this block
        loanOpened(4n, 1_150n, block, 1), // already due when it is set
      ])
      expect(write.jobs.map((j) => parseJson<{ deadline: unknown }>(j.input).deadline)).toEqual([
        { key: '2', at: 1_050n },
        { key: '1', at: 1_100n },
        { key: '4', at: 1_150n },
      ])
      expect(write.timersSet).toEqual([{ id: 'lock:3', functionName: 'lock', key: '3', at: 2_000n }])
      expect(write.timersCleared.sort()).toEqual(['lock:1', 'lock:2', 'lock:4'])
    })

    it('fires a timer left by a function no longer loaded once, so it does not stay due', async () => {
      await store.ensureTimer({ id: 'gone:9', functionName: 'gone', key: '9', at: 500n })
      const block = header(40n, 1_000n)
      const write = await plan({ lock: deadline }, block)
      expect(write.jobs.map((j) => j.functionName)).toEqual(['gone'])
      expect(inputOf(write)).toMatchObject({ deadline: { key: '9', at: 500n } })
      expect(write.timersCleared).toEqual(['gone:9'])
    })
  })

  describe('schedule', () => {
    const hourly: Trigger = { type: 'schedule', every: 60 }

    it('runs once when its timer is due, however many periods the block skipped, and re-arms', async () => {
      await store.ensureTimer({ id: 'tick:schedule', functionName: 'tick', key: 'schedule', at: 1_000n })
      expect((await plan({ tick: hourly }, header(50n, 999n))).jobs).toEqual([])
      const block = header(51n, 1_130n)
      const write = await plan({ tick: hourly }, block)
      expect(jobIds(write)).toEqual([`${chainId}:${block.hash}:timer:tick:schedule:1000:tick`])
      expect(inputOf(write)).toMatchObject({ schedule: { at: 1_000n } })
      // the next multiple of 60 s after the block: 1000 + 3 × 60
      expect(write.timersSet).toEqual([
        { id: 'tick:schedule', functionName: 'tick', key: 'schedule', at: 1_180n },
      ])
      expect(write.timersCleared).toEqual([])
    })

    it('runs a one-off `at` once and clears it', async () => {
      await store.ensureTimer({ id: 'once:schedule', functionName: 'once', key: 'schedule', at: 1_000n })
      const write = await commit({ once: { type: 'schedule', at: 1_000 } }, header(52n, 1_000n))
      expect(write.jobs.map((j) => j.functionName)).toEqual(['once'])
      expect(write.timersSet).toEqual([])
      expect(write.timersCleared).toEqual(['once:schedule'])
      expect((await plan({ once: { type: 'schedule', at: 1_000 } }, header(53n, 5_000n))).jobs).toEqual([])
    })

    it('asks the engine to arm its first timer', () => {
      const index = createTriggerIndex(
        [
          { name: 'tick', trigger: hourly },
          { name: 'once', trigger: { type: 'schedule', at: 1_000 } },
        ],
        {},
      )
      expect(index.schedules).toEqual([
        { functionName: 'tick', at: undefined, every: 60 },
        { functionName: 'once', at: 1_000, every: undefined },
      ])
    })
  })

  describe('blocks', () => {
    it('runs at block numbers divisible by `every`', async () => {
      const every3 = { every3: { type: 'blocks', every: 3 } as Trigger }
      expect(jobIds(await plan(every3, header(9n, 1n)))).toEqual([`${chainId}:${hashOf(9n)}:blocks:every3`])
      expect(jobIds(await plan(every3, header(10n, 1n)))).toEqual([])
      expect(jobIds(await plan(every3, header(11n, 1n)))).toEqual([])
    })
  })

  it('plans several functions on one block: logs in order, then due timers, then per-block kinds', async () => {
    await store.ensureTimer({ id: 'lock:5', functionName: 'lock', key: '5', at: 900n })
    const block = header(60n, 1_000n)
    const write = await plan(
      {
        every: { type: 'blocks', every: 2 },
        lock: deadline,
        paid: paid(),
        paid1: paid({ args: { loanId: 1n } }),
      },
      block,
      [installmentPaid(1n, 5_000n, block, 0), installmentPaid(2n, 5_000n, block, 1)],
    )
    expect(write.jobs.map((j) => j.id.slice(`${chainId}:${block.hash}:`.length))).toEqual([
      'log0:paid',
      'log0:paid1',
      'log1:paid',
      'timer:lock:5:lock',
      'blocks:every',
    ])
    expect(write.timersSet.map((t) => [t.id, t.at])).toEqual([
      ['lock:1', 5_000n],
      ['lock:2', 5_000n],
    ])
    expect(write.timersCleared).toEqual(['lock:5'])
  })

  describe('after a reorg', () => {
    it('plans a block again to the same jobs, and a replacement block from the restored timers', async () => {
      const opened = header(70n, 1_000n)
      await commit({ lock: deadline }, opened, [loanOpened(1n, 1_100n, opened)])
      const orphaned = header(71n, 1_100n)
      const first = await commit({ lock: deadline }, orphaned)
      expect(jobIds(first)).toEqual([`${chainId}:${orphaned.hash}:timer:lock:1:lock`])

      // the rollback restores the timer the orphaned block fired, so the replacement block fires it again
      await store.rollback(chainId, opened, [])
      const replacement = header(71n, 1_100n, 1)
      const again = await plan({ lock: deadline }, replacement)
      expect(jobIds(again)).toEqual([`${chainId}:${replacement.hash}:timer:lock:1:lock`])
      // planning a block twice gives the same jobs (ids from chain, block hash, source and function)
      expect(await plan({ lock: deadline }, replacement)).toEqual(again)

      // on a fork where the installment was paid, the timer moves and nothing runs
      const paidFork = header(71n, 1_100n, 2)
      const moved = await plan({ lock: deadline }, paidFork, [installmentPaid(1n, 2_000n, paidFork)])
      expect(moved.jobs).toEqual([])
      expect(moved.timersSet.map((t) => t.at)).toEqual([2_000n])
    })
  })

  describe('condition (on Anvil)', () => {
    const holder: Address = '0x000000000000000000000000000000000000bEEF'
    let wallet: ReturnType<typeof makeWallet>
    let usd: Address
    const makeWallet = () =>
      createWalletClient({
        account: privateKeyToAccount(devKey),
        chain: {
          id: chainId,
          name: 'anvil',
          nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
          rpcUrls: { default: { http: [anvil.rpcUrl] } },
        },
        transport: http(anvil.rpcUrl),
      }).extend(publicActions)
    const send = async (hash: Promise<Hex>) => {
      const receipt = await wallet.waitForTransactionReceipt({ hash: await hash })
      return chain.getHeader(receipt.blockNumber)
    }
    const mint = (amount: bigint) =>
      send(
        wallet.writeContract({ address: usd, abi: testUsdAbi, functionName: 'mint', args: [holder, amount] }),
      )
    const rich = (extra: Record<string, unknown> = {}): Trigger =>
      ({
        type: 'condition',
        contract: usd,
        abi: testUsdAbi,
        functionName: 'balanceOf',
        args: [holder],
        ...extra,
      }) as Trigger

    beforeAll(async () => {
      wallet = makeWallet()
      const hash = await wallet.deployContract({
        abi: testUsdAbi,
        bytecode: testUsdBytecode,
        args: [],
      } as never)
      const receipt = await wallet.waitForTransactionReceipt({ hash })
      usd = receipt.contractAddress as Address
    })

    it('runs on the false→true edge of the view call at the block, not while it stays true', async () => {
      const before = await chain.getHeader('latest')
      const quiet = await commit({ rich: rich() }, before)
      expect(quiet.jobs).toEqual([])
      expect(quiet.conditions).toEqual([{ id: 'rich:condition', value: false }])

      const minted = await mint(5n)
      const edge = await commit({ rich: rich() }, minted)
      expect(jobIds(edge)).toEqual([`${chainId}:${minted.hash}:condition:rich`])
      expect(inputOf(edge)).toMatchObject({ condition: { value: 5n }, block: { number: minted.number } })
      expect(edge.conditions).toEqual([{ id: 'rich:condition', value: true }])

      const still = await commit({ rich: rich() }, await mint(1n))
      expect(still.jobs).toEqual([])
      expect(still.conditions).toEqual([{ id: 'rich:condition', value: true }])
      // read at the block it plans, not at the head: the block before the mint is still false
      expect((await plan({ fresh: rich() }, before)).conditions).toEqual([
        { id: 'fresh:condition', value: false },
      ])
    })

    it('reads only at multiples of everyBlocks, and warns without a value when the call fails', async () => {
      const head = await mint(1n)
      const odd = head.number % 2n === 1n ? head : await mint(1n)
      const write = await plan(
        {
          even: rich({ everyBlocks: 2 }),
          broken: rich({ contract: '0x000000000000000000000000000000000000dEaD' }),
        },
        odd,
      )
      expect(write.jobs).toEqual([])
      expect(write.conditions).toEqual([])
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(new RegExp(`^Condition of 'broken' failed at block ${odd.number}`))
      const even = await mint(1n)
      expect((await plan({ even: rich({ everyBlocks: 2 }) }, even)).conditions).toEqual([
        { id: 'even:condition', value: true },
      ])
    })
  })
})
