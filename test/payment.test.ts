import { executionBalanceAbi, testUsdAbi } from '@pbj/contracts/artifacts'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { type DemoDeployment, deployDemo } from '#pbj/demo/deployDemo.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import { checkUsage } from '#pbj/payment/checkUsage.js'
import { priceRun } from '#pbj/payment/priceRun.js'
import { projectIdOf, saltOf } from '#pbj/payment/projectIdOf.js'
import { usageRoot } from '#pbj/payment/usageRoot.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { recordLogs } from './helpers/recordLogs.js'

const prices = { perRunMicros: 1_000n, perMsMicros: 10n, perDeviceMessageMicros: 500n, gasMarkupBps: 2_000n }
const sink = '0x000000000000000000000000000000000000dEaD'

let anvil: AnvilNode
let broker: EmbeddedBroker
let deployment: DemoDeployment
const fns = makeFunctionsDir()
const engines: Engine[] = []

const chainOf = (a: AnvilNode) =>
  defineChain({
    id: a.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [a.rpcUrl] } },
  })
const pub = () => createPublicClient({ chain: chainOf(anvil), transport: http(anvil.rpcUrl) })
const wallet = (key: Hex) =>
  createWalletClient({
    account: privateKeyToAccount(key),
    chain: chainOf(anvil),
    transport: http(anvil.rpcUrl),
  })
const balanceContract = () => deployment.contracts.ExecutionBalance
/** Project ids are bound to their owner: the demo owner's project named `<name>-<random>`. */
const salts = new Map<Hex, string>()
const projectOf = (name: string) => {
  const salt = `${name}-${Math.random()}`
  const id = projectIdOf(demoAccounts.owner.address, salt)
  salts.set(id, salt)
  return id
}

async function write(
  key: Hex,
  address: Address,
  abi: typeof testUsdAbi | typeof executionBalanceAbi,
  functionName: string,
  args: unknown[],
) {
  const hash = await wallet(key).writeContract({ address, abi, functionName, args } as never)
  const receipt = await pub().waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** The owner mints `amount` tUSD, approves the contract, opens the project (once) and deposits for it. */
async function deposit(projectId: Hex, amount: bigint) {
  const { TestUSD } = deployment.contracts
  await write(demoAccounts.owner.privateKey, TestUSD, testUsdAbi, 'mint', [
    demoAccounts.owner.address,
    amount,
  ])
  await write(demoAccounts.owner.privateKey, TestUSD, testUsdAbi, 'approve', [balanceContract(), amount])
  const salt = salts.get(projectId)
  if (salt !== undefined) {
    salts.delete(projectId)
    await write(demoAccounts.owner.privateKey, balanceContract(), executionBalanceAbi, 'openProject', [
      saltOf(salt),
    ])
  }
  await write(demoAccounts.owner.privateKey, balanceContract(), executionBalanceAbi, 'deposit', [
    projectId,
    amount,
  ])
}

const onChainBalance = (projectId: Hex) =>
  pub().readContract({
    address: balanceContract(),
    abi: executionBalanceAbi,
    functionName: 'balanceOf',
    args: [projectId],
  })

/** The log records of this file's engines (their warnings). */
const logs = recordLogs()

async function startEngine(projectId: Hex, settleRuns: number) {
  const tick = await loadFunction(
    fns.write(
      'tick',
      "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler(ctx) { ctx.log.info('tick') } })",
    ),
  )
  const engine = await createEngine({
    rpcUrl: [anvil.wsUrl, anvil.rpcUrl],
    brokerUrl: broker.url,
    database: ':memory:',
    functions: [tick],
    contracts: deployment.contracts,
    operatorKey: demoAccounts.operator.privateKey,
    chain: { pollingIntervalMs: 50 },
    relayer: { pollingIntervalMs: 50 },
    logger: logs.logger,
    payment: {
      contract: balanceContract(),
      projectId,
      settleEvery: { runs: settleRuns, ms: 3_600_000 },
      pollMs: 50,
    },
  })
  engines.push(engine)
  await engine.start()
  return engine
}

const mine = (n = 1) => pub().request({ method: 'anvil_mine', params: [toHex(n)] } as never)

beforeAll(async () => {
  anvil = await startAnvil()
  broker = await startEmbeddedBroker()
  deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
  // The operator publishes its prices before any engine runs (the engine sends from the same key).
  await write(demoAccounts.operator.privateKey, balanceContract(), executionBalanceAbi, 'setPrices', [
    prices.perRunMicros,
    prices.perMsMicros,
    prices.perDeviceMessageMicros,
    prices.gasMarkupBps,
  ])
}, 60_000)

afterAll(async () => {
  for (const e of engines) await e.stop().catch(() => {})
  await broker?.close()
  await anvil?.stop()
  fns.remove()
})

describe('prepaid execution', () => {
  it('prices a run in integer token units, rounding time and gas up', () => {
    // 2.1 ms → 3 ms; (21,000 gas × 1 gwei + 1 wei) × 1.2 × $3,000/ETH = 75,600.0000000036 micros → 75,601.
    const gasWei = 21_000n * 10n ** 9n + 1n
    expect(priceRun(prices, { durationMs: 2.1, deviceMessages: 2, gasWei })).toBe(
      1_000n + 30n + 1_000n + 75_601n,
    )
  })

  it('settles metered usage on chain to the unit, and the owner alone withdraws what is left', async () => {
    const projectId = projectOf('settle')
    const funded = 50_000_000n
    await deposit(projectId, funded)
    const engine = await startEngine(projectId, 4)
    for (let i = 0; i < 4; i++) await mine()
    await vi.waitFor(
      async () => expect((await engine.store.usage.settlements()).some((s) => s.minedAt !== null)).toBe(true),
      { timeout: 15_000, interval: 50 },
    )

    const rows = await engine.store.usage.list()
    const settledRows = rows.filter((r) => r.settlement !== null)
    expect(settledRows.length).toBeGreaterThanOrEqual(4)
    for (const r of rows) {
      expect(r.amount).toBe(priceRun(prices, { durationMs: r.durationMs, deviceMessages: 0, gasWei: 0n }))
      expect((await engine.store.getRun(r.runId))?.status).toBe('ok')
    }
    const events = await pub().getContractEvents({
      address: balanceContract(),
      abi: executionBalanceAbi,
      eventName: 'Settled',
      args: { projectId },
      fromBlock: 0n,
    })
    const settledOnChain = events.reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n)
    const metered = settledRows.reduce((sum, r) => sum + r.amount, 0n)
    expect(settledOnChain).toBe(metered)
    expect(metered).toBeGreaterThan(0n)
    // The root commits to exactly the rows of the batch, so anyone can recheck it against pbj's history.
    const first = events[0]?.args
    const batch = rows.filter((r) => r.seq >= Number(first?.fromRun) && r.seq <= Number(first?.toRun))
    expect(first?.usageRoot).toBe(usageRoot(batch))
    expect(first?.batchId).toBe(1n)
    // What `pbj usage` checks: it agrees with the chain, and notices a row altered after settlement.
    const settled = events.map((e) => e.args as Parameters<typeof checkUsage>[1][number])
    expect(checkUsage(rows, settled).ok).toBe(true)
    const tampered = rows.map((r) => (r.seq === batch[0]?.seq ? { ...r, amount: r.amount + 1n } : r))
    expect(checkUsage(tampered, settled).ok).toBe(false)
    const left = await onChainBalance(projectId)
    expect(left).toBe(funded - settledOnChain)

    // Withdrawing: a stranger is refused; the owner takes the unspent balance, to the unit.
    await expect(
      pub().simulateContract({
        account: demoAccounts.lender.address,
        address: balanceContract(),
        abi: executionBalanceAbi,
        functionName: 'withdraw',
        args: [projectId, 1n, demoAccounts.lender.address],
      }),
    ).rejects.toThrow(/NotOwner/)
    const token = {
      address: deployment.contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'balanceOf',
    } as const
    const before = await pub().readContract({ ...token, args: [sink] })
    await write(demoAccounts.owner.privateKey, balanceContract(), executionBalanceAbi, 'withdraw', [
      projectId,
      left,
      sink,
    ])
    expect(await onChainBalance(projectId)).toBe(0n)
    expect(await pub().readContract({ ...token, args: [sink] })).toBe(before + left)
  }, 40_000)

  it('holds runs an empty balance cannot pay, with their reason, and runs every one once funds arrive', async () => {
    const projectId = projectOf('hold')
    const engine = await startEngine(projectId, 1_000)
    const warnings = logs.followWarnings()
    await mine()
    await mine()
    await vi.waitFor(
      async () =>
        expect((await engine.store.listJobs({ status: ['held'] })).length).toBeGreaterThanOrEqual(2),
      { timeout: 10_000, interval: 50 },
    )
    const held = await engine.store.listJobs({ status: ['held'] })
    for (const j of held) {
      expect(j.lastError).toBe(
        `execution balance 0.00 tUSD: deposit to ExecutionBalance for project ${projectId}`,
      )
    }
    expect(warnings.some((w) => w.includes('run held: execution balance 0.00 tUSD'))).toBe(true)
    expect(await engine.store.listRuns({ functionName: 'tick' })).toHaveLength(0)

    await deposit(projectId, 1_000_000n)
    await vi.waitFor(
      async () => {
        for (const j of held) expect((await engine.store.getJob(j.id))?.status).toBe('done')
      },
      { timeout: 10_000, interval: 50 },
    )
    // Each held job ran exactly once, and each run was metered.
    const runs = await engine.store.listRuns({ functionName: 'tick', limit: 1_000 })
    const usage = await engine.store.usage.list()
    for (const j of held) {
      expect(runs.filter((r) => r.jobId === j.id)).toHaveLength(1)
      expect(usage.filter((u) => u.jobId === j.id)).toHaveLength(1)
    }
    await engine.stop()
  }, 40_000)
})
