import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { executionBalanceAbi, testUsdAbi } from '@pbj/contracts/artifacts'
import { createPublicClient, createWalletClient, defineChain, type Hex, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { type DemoDeployment, deployDemo } from '#pbj/demo/deployDemo.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import { projectIdOf } from '#pbj/payment/projectIdOf.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { runPbj } from './helpers/runPbj.js'

let anvil: AnvilNode
let broker: EmbeddedBroker
let deployment: DemoDeployment
let engine: Engine | undefined
const fns = makeFunctionsDir()
const dir = mkdtempSync(join(tmpdir(), 'pbj-payment-cli-'))
const database = join(dir, 'pbj.db')
const projectSalt = `payment-cli-${Math.random()}`
const projectId = projectIdOf(demoAccounts.owner.address, projectSalt)
const ownerKey = demoAccounts.owner.privateKey

const clients = () => {
  const chain = defineChain({
    id: anvil.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.rpcUrl] } },
  })
  const transport = http(anvil.rpcUrl)
  return {
    pub: createPublicClient({ chain, transport }),
    wallet: (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), chain, transport }),
  }
}

/** Runs `pbj <args> --dir <project> --json`; returns its exit code and JSON lines. */
async function pbj(args: string[]) {
  const { code, stdout, stderr } = await runPbj(...args, '--dir', dir, '--json')
  const lines = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { code, lines, last: lines.at(-1) ?? {}, stderr }
}

beforeAll(async () => {
  anvil = await startAnvil()
  broker = await startEmbeddedBroker()
  deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
  const { pub, wallet } = clients()
  const send = async (key: Hex, request: Parameters<ReturnType<typeof wallet>['writeContract']>[0]) => {
    const hash = await wallet(key).writeContract(request as never)
    expect((await pub.waitForTransactionReceipt({ hash })).status).toBe('success')
  }
  const { ExecutionBalance, TestUSD } = deployment.contracts
  await send(demoAccounts.operator.privateKey, {
    address: ExecutionBalance,
    abi: executionBalanceAbi,
    functionName: 'setPrices',
    args: [1_000n, 10n, 500n, 2_000n],
  } as never)
  await send(ownerKey, {
    address: TestUSD,
    abi: testUsdAbi,
    functionName: 'mint',
    args: [demoAccounts.owner.address, 20_000_000n],
  } as never)
  writeFileSync(
    join(dir, 'pbj.config.json'),
    JSON.stringify({
      rpcUrl: anvil.rpcUrl,
      database,
      contracts: Object.fromEntries(
        Object.entries(deployment.contracts).map(([name, address]) => [name, { address }]),
      ),
      payment: { owner: demoAccounts.owner.address, salt: projectSalt },
    }),
  )
}, 60_000)

afterAll(async () => {
  await engine?.stop().catch(() => {})
  await broker?.close()
  await anvil?.stop()
  fns.remove()
  rmSync(dir, { recursive: true, force: true })
})

describe('pbj balance, deposit, usage, withdraw', () => {
  it('moves the project balance as funded, charged and withdrawn, and usage checks out against the chain', async () => {
    // deposit: the owner's key approves and deposits; the project is opened for the owner
    const deposited = await pbj(['deposit', '12.5', '--key', ownerKey])
    expect(deposited.stderr).toBe('')
    expect(deposited.code).toBe(0)
    expect(deposited.last).toMatchObject({ command: 'deposit', amount: '12500000', balance: '12500000' })

    const before = await pbj(['balance'])
    expect(before.code).toBe(0)
    expect(before.last).toMatchObject({ projectId, owner: demoAccounts.owner.address, balance: '12500000' })
    expect(before.last.prices).toMatchObject({ perRunMicros: '1000', perMsMicros: '10' })

    // pbj runs a function every block against the balance and settles every 3 runs
    const tick = await loadFunction(
      fns.write(
        'tick',
        "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler(ctx) { ctx.log.info('tick') } })",
      ),
    )
    engine = await createEngine({
      rpcUrl: [anvil.wsUrl, anvil.rpcUrl],
      brokerUrl: broker.url,
      database,
      functions: [tick],
      contracts: deployment.contracts,
      operatorKey: demoAccounts.operator.privateKey,
      chain: { pollingIntervalMs: 50 },
      relayer: { pollingIntervalMs: 50 },
      payment: {
        contract: deployment.contracts.ExecutionBalance,
        projectId,
        settleEvery: { runs: 3, ms: 3_600_000 },
        pollMs: 50,
      },
    })
    await engine.start()
    const { pub } = clients()
    for (let i = 0; i < 3; i++) await pub.request({ method: 'anvil_mine', params: ['0x1'] } as never)
    const running = engine
    await vi.waitFor(
      async () =>
        expect((await running.store.usage.settlements()).some((s) => s.minedAt !== null)).toBe(true),
      { timeout: 15_000, interval: 50 },
    )
    await engine.stop()
    engine = undefined

    // usage: every metered run, the settled batch, and the check that the chain charged exactly those rows
    const usage = await pbj(['usage'])
    expect(usage.stderr).toBe('')
    expect(usage.code).toBe(0)
    const rows = usage.lines.filter((l) => l.type === 'usage')
    expect(rows.length).toBeGreaterThanOrEqual(3)
    expect(usage.last).toMatchObject({ type: 'check', ok: true })
    const settled = BigInt(usage.last.settledOnChain as string)
    expect(settled).toBeGreaterThan(0n)
    expect(settled).toBe(BigInt(usage.last.settledRows as string))
    const batches = usage.last.batches as { rootMatches: boolean }[]
    expect(batches.length).toBeGreaterThanOrEqual(1)
    expect(batches.every((b) => b.rootMatches)).toBe(true)

    // balance: what was deposited less what was settled
    const after = await pbj(['balance'])
    expect(after.code).toBe(0)
    expect(BigInt(after.last.balance as string)).toBe(12_500_000n - settled)

    // withdraw: only the owner takes the unspent balance back
    const stranger = await pbj(['withdraw', '1', '--key', demoAccounts.lender.privateKey])
    expect(stranger.code).not.toBe(0)
    expect(stranger.stderr).toMatch(/NotOwner|owner/i)
    const withdrawn = await pbj(['withdraw', '2', '--key', ownerKey])
    expect(withdrawn.code).toBe(0)
    expect(withdrawn.last).toMatchObject({ command: 'withdraw', amount: '2000000' })
    expect(BigInt(withdrawn.last.balance as string)).toBe(12_500_000n - settled - 2_000_000n)
    const final = await pbj(['balance'])
    expect(final.last.balance).toBe(withdrawn.last.balance)
  }, 60_000)
})
