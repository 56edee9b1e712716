import { executionBalanceAbi, testUsdAbi } from '@pbj/contracts'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  type Hex,
  http,
  keccak256,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRelayer, type Relayer } from '../actions/relayer/createRelayer.js'
import { TxRefusedError } from '../actions/relayer/TxRefusedError.js'
import { createChainConnection } from '../chain/createChainConnection.js'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import type { ChainConnection } from '../chain/types.js'
import type { Job } from '../core/job.js'
import type { RelayedTx } from '../core/relayedTx.js'
import type { Run } from '../core/run.js'
import type { Store } from '../core/store.js'
import { demoAccounts } from '../demo/accounts.js'
import { type DemoDeployment, deployDemo } from '../demo/deployDemo.js'
import { silentLogger } from '../internal/logger.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { createPaymentMeter, type PaymentOptions } from './createPaymentMeter.js'
import { priceRun } from './priceRun.js'
import { projectIdOf, saltOf } from './projectIdOf.js'
import type { Prices } from './types.js'
import { usageRoot } from './usageRoot.js'

const prices: Prices = {
  perRunMicros: 1_000n,
  perMsMicros: 10n,
  perDeviceMessageMicros: 500n,
  gasMarkupBps: 2_000n,
}

let anvil: AnvilNode
let deployment: DemoDeployment
let chain: ChainConnection
let relayer: Relayer
const stores: Store[] = []

const viemChain = () =>
  defineChain({
    id: anvil.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.rpcUrl] } },
  })
const pub = () => createPublicClient({ chain: viemChain(), transport: http(anvil.rpcUrl) })
const contract = () => deployment.contracts.ExecutionBalance

async function send(
  key: Hex,
  address: Address,
  abi: typeof testUsdAbi | typeof executionBalanceAbi,
  functionName: string,
  args: unknown[],
) {
  const wallet = createWalletClient({
    account: privateKeyToAccount(key),
    chain: viemChain(),
    transport: http(anvil.rpcUrl),
  })
  const hash = await wallet.writeContract({ address, abi, functionName, args } as never)
  expect((await pub().waitForTransactionReceipt({ hash })).status).toBe('success')
}

/** A new project of the demo owner, opened on ExecutionBalance and funded with `amount` token units. */
async function fundedProject(amount: bigint): Promise<Hex> {
  const salt = `meter-${Math.random()}`
  const { owner } = demoAccounts
  await send(owner.privateKey, contract(), executionBalanceAbi, 'openProject', [saltOf(salt)])
  const projectId = projectIdOf(owner.address, salt)
  if (amount > 0n) await deposit(projectId, amount)
  return projectId
}

async function deposit(projectId: Hex, amount: bigint) {
  const { owner } = demoAccounts
  const { TestUSD } = deployment.contracts
  await send(owner.privateKey, TestUSD, testUsdAbi, 'mint', [owner.address, amount])
  await send(owner.privateKey, TestUSD, testUsdAbi, 'approve', [contract(), amount])
  await send(owner.privateKey, contract(), executionBalanceAbi, 'deposit', [projectId, amount])
}

const balanceOf = (projectId: Hex) =>
  pub().readContract({
    address: contract(),
    abi: executionBalanceAbi,
    functionName: 'balanceOf',
    args: [projectId],
  })

/** A meter on its own SQLite store, with the real chain and relayer: the narrow services it takes. */
function meterOf(projectId: Hex, options: Partial<PaymentOptions> = {}) {
  const store = createSqliteStore({ path: ':memory:' })
  stores.push(store)
  const warnings: string[] = []
  const logger = { warn: (message: string) => void warnings.push(message) }
  const queued: Job[] = []
  const services = { store, chain, relayer, logger, queue: { push: (jobs: Job[]) => queued.push(...jobs) } }
  const meter = createPaymentMeter(services, {
    contract: contract(),
    projectId,
    settleEvery: { runs: 1_000, ms: 3_600_000 },
    ...options,
  })
  return { meter, store, warnings, queued }
}

let jobs = 0
/** A pending job, committed in a block of its own as the pipeline would. */
async function pendingJob(store: Store, entry: Job['entry'] = 'handler'): Promise<Job> {
  const n = BigInt(++jobs)
  const hash = `0x${n.toString(16).padStart(64, '0')}` as const
  const job = {
    id: `job-${n}`,
    functionName: 'tick',
    entry,
    input: '{}',
    blockNumber: n,
    blockHash: hash,
    readyAt: n,
  }
  await store.commitBlock(anvil.chainId, {
    block: { number: n, hash, parentHash: hash, timestamp: n },
    jobs: [job],
    timersSet: [],
    timersCleared: [],
    conditions: [],
  })
  const stored = await store.getJob(job.id)
  if (!stored) throw new Error(`job ${job.id} was not stored`)
  return stored
}

/** A finished run of `job` that took `durationMs`. */
const runOf = (job: Job, durationMs: number, startedAt = Date.now()): Run => ({
  id: `run-${job.id}`,
  jobId: job.id,
  functionName: job.functionName,
  attempt: 1,
  status: 'ok',
  startedAt,
  endedAt: startedAt + durationMs,
  durationMs,
  logs: [],
  error: null,
})

/** Admits and meters one run per duration; returns the usage rows. */
async function meterRuns(
  m: ReturnType<typeof meterOf>,
  durations: number[],
  entry: Job['entry'] = 'handler',
) {
  const rows = []
  for (const ms of durations) {
    const job = await pendingJob(m.store, entry)
    expect(await m.meter.admit(job)).toBe(true)
    rows.push(await m.meter.meter(job, runOf(job, ms), { deviceMessages: 0, writes: 0 }))
  }
  return rows
}

const mined = async (m: ReturnType<typeof meterOf>) =>
  vi.waitFor(
    async () => {
      await m.meter.refresh()
      const open = (await m.store.usage.settlements()).filter((s) => s.minedAt === null)
      expect(open).toEqual([])
    },
    { timeout: 10_000, interval: 50 },
  )

beforeAll(async () => {
  anvil = await startAnvil()
  deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
  // The operator publishes its prices before its relayer sends anything from the same key.
  await send(demoAccounts.operator.privateKey, contract(), executionBalanceAbi, 'setPrices', [
    prices.perRunMicros,
    prices.perMsMicros,
    prices.perDeviceMessageMicros,
    prices.gasMarkupBps,
  ])
  chain = await createChainConnection({ rpcUrl: anvil.rpcUrl, pollingIntervalMs: 50 })
  const relayerStore = createSqliteStore({ path: ':memory:' })
  stores.push(relayerStore)
  relayer = createRelayer({
    rpc: anvil.rpcUrl,
    store: relayerStore,
    account: demoAccounts.operator.privateKey,
    chainId: anvil.chainId,
    pollingIntervalMs: 50,
  })
  relayer.start()
}, 60_000)

afterAll(async () => {
  await relayer?.close()
  await chain?.close()
  for (const s of stores) await s.close()
  await anvil?.stop()
})

describe('priceRun', () => {
  it('charges per run, per started millisecond and per device message, in integer token units', () => {
    expect(priceRun(prices, { durationMs: 0, deviceMessages: 0, gasWei: 0n })).toBe(1_000n)
    expect(priceRun(prices, { durationMs: 2.01, deviceMessages: 3, gasWei: 0n })).toBe(1_000n + 30n + 1_500n)
    // A clock that went backwards costs nothing, not a refund.
    expect(priceRun(prices, { durationMs: -5, deviceMessages: 0, gasWei: 0n })).toBe(1_000n)
  })

  it('converts gas at the ETH price with the markup, rounding the last unit up', () => {
    // 1 gwei × 1.2 × 3,000 tUSD/ETH = 3.6 micros → 4; 1 ETH × 1.2 at 2,000 tUSD/ETH = 2,400 tUSD.
    expect(priceRun(prices, { durationMs: 0, deviceMessages: 0, gasWei: 10n ** 9n })).toBe(1_000n + 4n)
    expect(priceRun(prices, { durationMs: 0, deviceMessages: 0, gasWei: 10n ** 18n }, 2_000_000_000n)).toBe(
      1_000n + 2_400_000_000n,
    )
  })
})

describe('usageRoot', () => {
  const rows = [
    { seq: 1, runId: 'run-a', amount: 1_000n },
    { seq: 2, runId: 'run-b', amount: 2_030n },
  ]

  it('is keccak256 of the ABI-encoded leaves, each keccak256(abi.encode(seq, runId, amount))', () => {
    const leaf = (r: (typeof rows)[number]) =>
      keccak256(
        encodeAbiParameters(
          [{ type: 'uint64' }, { type: 'string' }, { type: 'uint256' }],
          [BigInt(r.seq), r.runId, r.amount],
        ),
      )
    expect(usageRoot(rows)).toBe(keccak256(encodeAbiParameters([{ type: 'bytes32[]' }], [rows.map(leaf)])))
  })

  it('changes with any field of any row and with their order', () => {
    const root = usageRoot(rows)
    expect(
      usageRoot([
        rows[0] as (typeof rows)[number],
        { ...(rows[1] as (typeof rows)[number]), amount: 2_031n },
      ]),
    ).not.toBe(root)
    expect(
      usageRoot([
        rows[0] as (typeof rows)[number],
        { ...(rows[1] as (typeof rows)[number]), runId: 'run-c' },
      ]),
    ).not.toBe(root)
    expect(usageRoot([...rows].reverse())).not.toBe(root)
    expect(usageRoot(rows.slice(0, 1))).not.toBe(root)
  })
})

describe('createPaymentMeter', () => {
  it('holds a job the balance cannot pay, with its reason, but never a compensation', async () => {
    const projectId = await fundedProject(0n)
    const m = meterOf(projectId)
    await m.meter.start()
    expect(m.meter.status()).toMatchObject({ balance: 0n, unsettled: 0n, available: 0n, prices })

    const job = await pendingJob(m.store)
    expect(await m.meter.admit(job)).toBe(false)
    const reason = `execution balance 0.00 tUSD: deposit to ExecutionBalance for project ${projectId}`
    expect(await m.store.getJob(job.id)).toMatchObject({ status: 'held', lastError: reason })
    expect(m.warnings).toEqual([`tick: run held: ${reason}`])

    // Undoing a reorged action must not wait for money.
    expect(await m.meter.admit(await pendingJob(m.store, 'onReorg'))).toBe(true)
  })

  it('reserves a run’s price for each admitted job, and gives it back when the job does not run', async () => {
    const projectId = await fundedProject(2_500n)
    const m = meterOf(projectId)
    await m.meter.start()
    const [a, b, c] = [await pendingJob(m.store), await pendingJob(m.store), await pendingJob(m.store)]
    expect(await m.meter.admit(a)).toBe(true)
    expect(await m.meter.admit(b)).toBe(true)
    expect(m.meter.status().available).toBe(500n)
    // 500 left is less than one run: the third waits.
    expect(await m.meter.admit(c)).toBe(false)
    expect((await m.store.getJob(c.id))?.status).toBe('held')
    m.meter.abandon() // b was orphaned before it started
    expect(m.meter.status().available).toBe(1_500n)
    expect(await m.meter.admit(await pendingJob(m.store))).toBe(true)
  })

  it('releases held jobs, oldest block first and each once, when a deposit covers a run', async () => {
    const projectId = await fundedProject(0n)
    const m = meterOf(projectId)
    await m.meter.start()
    const held = [await pendingJob(m.store), await pendingJob(m.store)]
    for (const j of held) expect(await m.meter.admit(j)).toBe(false)
    await m.meter.refresh()
    expect(m.queued).toEqual([]) // nothing deposited yet

    await deposit(projectId, 5_000n)
    await m.meter.refresh()
    expect(m.meter.status().balance).toBe(5_000n)
    expect(m.queued.map((j) => [j.id, j.status, j.runAfter])).toEqual(held.map((j) => [j.id, 'pending', 0]))
    for (const j of held) expect((await m.store.getJob(j.id))?.status).toBe('pending')
    await m.meter.refresh()
    expect(m.queued).toHaveLength(2)
  })

  it('records each run’s price, with the gas of the transactions that run sent', async () => {
    const projectId = await fundedProject(1_000_000n)
    const m = meterOf(projectId)
    await m.meter.start()
    const job = await pendingJob(m.store)
    const run = runOf(job, 2.4)
    const tx = (i: number, fields: Partial<RelayedTx>): RelayedTx => ({
      key: `${job.id}:w${i}`,
      kind: 'intent',
      chainId: anvil.chainId,
      sender: demoAccounts.operator.address,
      nonce: 1_000 + i,
      to: contract(),
      data: '0x',
      value: 0n,
      gas: 50_000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1n,
      hash: `0x${String(i).padStart(64, '0')}`,
      raw: '0x',
      status: 'pending',
      confirmation: 'instant',
      attempts: 1,
      createdAt: run.startedAt,
      sentAt: null,
      sentBlock: null,
      minedAt: null,
      receipt: null,
      final: false,
      error: null,
      ...fields,
    })
    const receipt = {
      transactionHash: `0x${'a'.repeat(64)}`,
      blockNumber: 9n,
      blockHash: `0x${'b'.repeat(64)}`,
      status: 'success',
      gasUsed: 21_000n,
      effectiveGasPrice: 1_000_000_000n,
    } as const
    await m.store.relayedTxs.insert(tx(0, { status: 'mined', receipt })) // mined: what it paid
    await m.store.relayedTxs.insert(tx(1, {})) // not mined yet: the most it may pay
    await m.store.relayedTxs.insert(tx(2, { createdAt: run.startedAt - 1 })) // an earlier attempt's: paid then

    expect(await m.meter.admit(job)).toBe(true)
    const row = await m.meter.meter(job, run, { deviceMessages: 2, writes: 3 })
    const gasWei = 21_000n * 1_000_000_000n + 50_000n * 2_000_000_000n
    expect(row).toMatchObject({
      seq: 1,
      runId: run.id,
      jobId: job.id,
      durationMs: 2.4,
      deviceMessages: 2,
      gasWei,
    })
    expect(row.amount).toBe(priceRun(prices, { durationMs: 2.4, deviceMessages: 2, gasWei }))
    expect(row.amount).toBe(1_000n + 30n + 1_000n + 435_600n)
    expect(m.meter.status()).toMatchObject({ unsettled: row.amount, available: 1_000_000n - row.amount })
    // Metering a run twice (a retried meter call) records it once.
    expect(await m.meter.meter(job, run, { deviceMessages: 2, writes: 3 })).toEqual(row)
    expect(await m.store.usage.list()).toHaveLength(1)
  })

  it('settles a batch on chain: the amount leaves the balance and the rows are marked with its key', async () => {
    const projectId = await fundedProject(1_000_000n)
    const m = meterOf(projectId)
    await m.meter.start()
    const rows = await meterRuns(m, [1, 2.5, 0])
    const total = rows.reduce((sum, r) => sum + r.amount, 0n)
    expect(total).toBe(1_010n + 1_030n + 1_000n)

    const settlement = await m.meter.settle()
    expect(settlement).toMatchObject({
      projectId,
      fromSeq: 1,
      toSeq: 3,
      amount: total,
      usageRoot: usageRoot(rows),
    })
    expect(settlement?.key).toMatch(new RegExp(`^settle:${projectId}:1-3@\\d+$`))
    await mined(m)

    expect(await balanceOf(projectId)).toBe(1_000_000n - total)
    expect(m.meter.status()).toMatchObject({ balance: 1_000_000n - total, unsettled: 0n })
    const settled = await m.store.usage.list()
    expect(settled.map((r) => r.settlement)).toEqual([settlement?.key, settlement?.key, settlement?.key])
    // The Settled event commits to the same rows, so anyone can recheck the batch.
    const [event] = await pub().getContractEvents({
      address: contract(),
      abi: executionBalanceAbi,
      eventName: 'Settled',
      args: { projectId },
      fromBlock: 0n,
    })
    expect(event?.args).toMatchObject({ amount: total, usageRoot: usageRoot(rows), fromRun: 1n, toRun: 3n })
    expect(await m.meter.settle()).toBeNull() // nothing left to settle
  }, 30_000)

  it('settles only what the balance covers, and the rest once a deposit covers it', async () => {
    const projectId = await fundedProject(2_500n)
    const m = meterOf(projectId)
    await m.meter.start()
    await meterRuns(m, [0, 0])
    // A compensation runs whatever the balance: 3 × 1,000 owed now, more than the 2,500 held.
    await meterRuns(m, [0], 'onReorg')
    const first = await m.meter.settle()
    expect(first).toMatchObject({ fromSeq: 1, toSeq: 2, amount: 2_000n })
    await mined(m)
    expect(await balanceOf(projectId)).toBe(500n)
    expect(await m.meter.settle()).toBeNull() // 1,000 owed, 500 held: sending it would revert

    await deposit(projectId, 500n)
    await m.meter.refresh()
    expect(await m.meter.settle()).toMatchObject({ fromSeq: 3, toSeq: 3, amount: 1_000n })
    await mined(m)
    expect(await balanceOf(projectId)).toBe(0n)
    expect((await m.store.usage.unsettled()).length).toBe(0)
  }, 30_000)

  it('drops a settlement the chain refuses, so its rows go into the next one', async () => {
    const projectId = await fundedProject(5_000n)
    const m = meterOf(projectId)
    await m.meter.start()
    const rows = await meterRuns(m, [0, 0])
    // The owner withdraws everything; the meter has not re-read the balance yet, so it still tries.
    await send(demoAccounts.owner.privateKey, contract(), executionBalanceAbi, 'withdraw', [
      projectId,
      5_000n,
      demoAccounts.owner.address,
    ])
    await expect(m.meter.settle()).rejects.toBeInstanceOf(TxRefusedError)
    expect(await m.store.usage.settlements()).toEqual([])
    expect(await m.store.usage.unsettled()).toEqual(rows)

    await deposit(projectId, 5_000n)
    await m.meter.refresh()
    expect(await m.meter.settle()).toMatchObject({ fromSeq: 1, toSeq: 2, amount: 2_000n })
    await mined(m)
    expect(await balanceOf(projectId)).toBe(3_000n)
  }, 30_000)

  it('re-sends at start a settlement a crash left recorded but unsent, under the same key', async () => {
    const projectId = await fundedProject(10_000n)
    const before = meterOf(projectId)
    await before.meter.start()
    const rows = await meterRuns(before, [0, 0])
    // What doSettle records before sending; the process dies before the send.
    const key = `settle:${projectId}:1-2@crashed`
    await before.store.usage.addSettlement({
      key,
      projectId,
      fromSeq: 1,
      toSeq: 2,
      amount: 2_000n,
      usageRoot: usageRoot(rows),
      at: Date.now(),
    })

    // The same store, a new meter (the restarted engine).
    const restarted = createPaymentMeter(
      {
        store: before.store,
        chain,
        relayer,
        logger: silentLogger,
        queue: { push() {} },
      },
      { contract: contract(), projectId },
    )
    await restarted.start()
    expect((await relayer.get(key))?.to).toBe(contract())
    await vi.waitFor(
      async () => {
        await restarted.refresh()
        expect((await before.store.usage.settlements())[0]?.minedAt).not.toBeNull()
      },
      { timeout: 10_000, interval: 50 },
    )
    expect(await balanceOf(projectId)).toBe(8_000n)
    expect(restarted.status().unsettled).toBe(0n)
  }, 30_000)
})
