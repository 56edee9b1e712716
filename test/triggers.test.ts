import { join } from 'node:path'
import { carLoanAbi, carWalletAbi, testUsdAbi } from '@pbj/contracts'
import { startSimulatedCar } from '@pbj/device'
import { createPublicClient, createTestClient, createWalletClient, defineChain, http, maxUint256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { type CreateDemoCarParams, createDemoCar } from '#pbj/demo/createDemoCar.js'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { type DemoStack, startDemoStack } from '#pbj/demo/startDemoStack.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import { waitFor } from '#pbj/internal/waitFor.js'
import { type FunctionBundle, loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { recordLogs } from './helpers/recordLogs.js'

// One Anvil, one embedded broker and one set of demo contracts for the whole file. Each test starts its own
// engine (own SQLite file, own topic prefix) from the chain head, so tests only see the blocks they mine.

const dir = makeFunctionsDir()
const lockFile = join(demoProjectDir, 'functions', 'lockOnMissedPayment.ts')
const unlockFile = join(demoProjectDir, 'functions', 'unlockOnPayment.ts')
let stack: DemoStack
let clients: ReturnType<typeof makeClients>
const running: Engine[] = []

function makeClients(s: DemoStack) {
  const chain = defineChain({
    id: s.deployment.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [s.rpcUrl] } },
  })
  const transport = http(s.rpcUrl)
  return {
    pub: createPublicClient({ chain, transport, pollingInterval: 50 }),
    test: createTestClient({ chain, mode: 'anvil', transport }),
    owner: createWalletClient({
      chain,
      transport,
      account: privateKeyToAccount(demoAccounts.owner.privateKey),
    }),
  }
}

beforeAll(async () => {
  stack = await startDemoStack({ cars: 0 })
  clients = makeClients(stack)
  // The owner pays installments straight into CarLoan in some tests (payInstallment), not only via the wallet.
  const hash = await clients.owner.writeContract({
    address: stack.deployment.contracts.TestUSD,
    abi: testUsdAbi,
    functionName: 'approve',
    args: [stack.deployment.contracts.CarLoan, maxUint256],
  })
  await clients.pub.waitForTransactionReceipt({ hash })
  await clients.test.setAutomine(false)
})

afterEach(async () => {
  for (const engine of running.splice(0)) await engine.stop().catch(() => {})
})

afterAll(async () => {
  await stack?.stop()
  dir.remove()
})

const random = () => Math.random().toString(36).slice(2, 10)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const head = () => clients.pub.getBlockNumber({ cacheTime: 0 })
const block = (blockNumber: bigint) => clients.pub.getBlock({ blockNumber })

/** A demo car and loan; Anvil automines while it is set up (createDemoCar waits for receipts). */
async function newCar(params: CreateDemoCarParams = {}) {
  await clients.test.setAutomine(true)
  try {
    return await createDemoCar(stack.deployment, params)
  } finally {
    await clients.test.setAutomine(false)
  }
}

/** Queues the owner's direct payment of one installment (mined by the next `mine`). */
const pay = (loanId: bigint) =>
  clients.owner.writeContract({
    address: stack.deployment.contracts.CarLoan,
    abi: carLoanAbi,
    functionName: 'payInstallment',
    args: [loanId],
    gas: 300_000n,
  })

const lockAtOf = (loanId: bigint) =>
  clients.pub.readContract({
    address: stack.deployment.contracts.CarLoan,
    abi: carLoanAbi,
    functionName: 'lockAt',
    args: [loanId],
  })

/** Mines one block with the engine down (or not waiting for it). */
async function mineRaw(timestamp?: bigint) {
  if (timestamp !== undefined) await clients.test.setNextBlockTimestamp({ timestamp })
  await clients.test.mine({ blocks: 1 })
  return block(await head())
}

/** Writes a function file (the `pbj` import is added) and loads it. */
const define = (name: string, body: string) => loadFunction(dir.write(name, body))

/** An engine on the shared stack, with what it emits recorded, and a `mine` that waits for it. */
async function startEngine(
  functions: FunctionBundle[],
  options: { database?: string; limits?: { timeoutMs?: number; memoryMb?: number } } = {},
) {
  const topicPrefix = `pbjtest-${random()}`
  const logs = recordLogs()
  const engine = await createEngine({
    rpcUrl: stack.wsUrl,
    brokerUrl: stack.brokerUrl,
    broker: { topicPrefix },
    database: options.database ?? join(dir.path, `${random()}.db`),
    functions,
    contracts: stack.deployment.contracts,
    deviceClass: immobilizerClass({ contract: 'CarLoan' }),
    operatorKey: stack.deployment.accounts.operator.privateKey,
    limits: { timeoutMs: 2000, memoryMb: 32, ...options.limits },
    logger: logs.logger,
  })
  running.push(engine)
  const runs: EngineEvents['run'][] = []
  const blocks: EngineEvents['block'][] = []
  const desired: EngineEvents['device:desired'][] = []
  const warnings = logs.followWarnings()
  engine.events.on('run', (r) => runs.push(r))
  let last: bigint | undefined
  engine.events.on('block', (b) => {
    blocks.push(b)
    last = b.number
  })
  engine.events.on('device:desired', (d) => desired.push(d))
  engine.events.on('error', (error) =>
    warnings.push(`error: ${error instanceof Error ? error.stack : String(error)}`),
  )
  // An empty store starts after the head; a resumed one after its cursor.
  const initial = (await engine.store.getCursor(engine.chainId))?.number ?? (await head())
  await engine.start()
  const processed = () => last ?? initial

  /** Waits until the engine has processed the chain head and finished the runs it caused. */
  async function sync() {
    const target = await head()
    const deadline = Date.now() + 10_000
    while (processed() < target) {
      if (Date.now() > deadline)
        throw new Error(`engine stuck at block ${processed()}, head ${target}; ${warnings.join('; ')}`)
      await sleep(5)
    }
    await engine.idle()
  }

  // engine.start() resolves before its newHeads subscription is live (createChainConnection subscribes
  // without awaiting), so a block mined right away may go unseen until the next one. Catch up first, then
  // mine warm-up blocks until a pushed head is processed; what they caused is set aside.
  await sync()
  let warmups = 0
  for (;;) {
    const warm = await mineRaw()
    warmups++
    const until = Date.now() + 250
    while (processed() < warm.number && Date.now() < until) await sleep(5)
    if (processed() >= warm.number) break
    if (warmups >= 20) throw new Error('the engine never saw a new head')
  }
  await engine.idle()
  const warmup = { blocks: blocks.splice(0), runs: runs.splice(0), count: warmups }

  return {
    engine,
    topicPrefix,
    warmup,
    runs,
    blocks,
    desired,
    warnings,
    sync,
    runsOf: (name: string) => runs.filter((r) => r.run.functionName === name),
    /** Mines one block (optionally at a timestamp), waits for the engine, returns the block as the chain has it. */
    async mine(timestamp?: bigint) {
      const mined = await mineRaw(timestamp)
      await sync()
      return mined
    },
    async stop() {
      running.splice(running.indexOf(engine), 1)
      await engine.stop()
    },
  }
}

type Seen = Record<string, string | number | boolean>
/** The JSON objects a function logged with `ctx.log.info(JSON.stringify(…))`, per run. */
const seen = (runs: EngineEvents['run'][]) =>
  runs.map((r) => JSON.parse(r.run.logs[0]?.message ?? 'null') as Seen)

describe('event trigger', () => {
  it('with an args filter runs only for that loan, with typed bigint args and the block it came from', async () => {
    const a = await newCar({ installment: 100_000_000n })
    const b = await newCar({ installment: 200_000_000n })
    const carLoan = stack.deployment.contracts.CarLoan
    const report = `
      const { loanId, amount, payer, outstanding } = ctx.event.args
      ctx.log.info(JSON.stringify({
        name: ctx.event.name, address: ctx.event.address, logIndex: ctx.event.logIndex,
        transactionHash: ctx.event.transactionHash,
        loanIdType: typeof loanId, loanId: String(loanId), amountType: typeof amount, amount: String(amount),
        outstanding: String(outstanding), payer,
        blockNumberType: typeof ctx.block.number, blockNumber: String(ctx.block.number),
        blockHash: ctx.block.hash, timestamp: String(ctx.block.timestamp),
      }))
      await ctx.kv.set('last:' + loanId, String(amount))`
    const functions = [
      await define(
        'paidFiltered',
        `import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid', args: { loanId: ${a.loanId}n } },
  async handler(ctx) { ${report} },
})`,
      ),
      await define(
        'paidByAddress',
        `import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: '${carLoan.toLowerCase()}', abi: carLoanAbi, event: 'InstallmentPaid' },
  async handler(ctx) { ${report} },
})`,
      ),
    ]
    const e = await startEngine(functions)

    const payA = await pay(a.loanId)
    const payB = await pay(b.loanId)
    const mined = await e.mine()
    const receiptA = await clients.pub.getTransactionReceipt({ hash: payA })
    expect(receiptA.blockNumber).toBe(mined.number)

    // the filtered function ran once, for loan a only
    const filtered = e.runsOf('paidFiltered')
    expect(filtered).toHaveLength(1)
    expect(filtered[0]).toMatchObject({ blockNumber: mined.number, run: { status: 'ok', error: null } })
    const [sawA] = seen(filtered)
    expect(sawA).toEqual({
      name: 'InstallmentPaid',
      address: carLoan,
      logIndex: expect.any(Number),
      transactionHash: payA,
      loanIdType: 'bigint',
      loanId: String(a.loanId),
      amountType: 'bigint',
      amount: '100000000',
      outstanding: String(100_000_000n * 11n),
      payer: demoAccounts.owner.address,
      blockNumberType: 'bigint',
      blockNumber: String(mined.number),
      blockHash: mined.hash,
      timestamp: String(mined.timestamp),
    })
    const logA = receiptA.logs.find((l) => l.address.toLowerCase() === carLoan.toLowerCase())
    expect(sawA?.logIndex).toBe(logA?.logIndex)
    expect(await e.engine.store.kvGet('paidFiltered', `last:${a.loanId}`)).toBe('"100000000"')
    expect(await e.engine.store.kvGet('paidFiltered', `last:${b.loanId}`)).toBeNull()

    // the function watching a literal (lowercase) address saw both payments, in log order
    const byAddress = e.runsOf('paidByAddress')
    expect(byAddress.map((r) => r.run.status)).toEqual(['ok', 'ok'])
    const both = seen(byAddress).sort((x, y) => Number(x.logIndex) - Number(y.logIndex))
    expect(both.map((s) => [s.loanId, s.amount, s.transactionHash, s.blockHash])).toEqual([
      [String(a.loanId), '100000000', payA, mined.hash],
      [String(b.loanId), '200000000', payB, mined.hash],
    ])
    expect(both.every((s) => s.address === carLoan)).toBe(true)
    expect(await e.engine.store.kvGet('paidByAddress', `last:${b.loanId}`)).toBe('"200000000"')

    // a later payment of loan b alone runs only the unfiltered function
    await pay(b.loanId)
    await e.mine()
    expect(e.runsOf('paidFiltered')).toHaveLength(1)
    expect(e.runsOf('paidByAddress')).toHaveLength(3)
    expect(e.warnings).toEqual([])
  })
})

describe('condition trigger', () => {
  it('runs once on each false→true edge of isDelinquent, not while it stays true', async () => {
    const car = await newCar({ installment: 100_000_000n })
    const lockAt = await lockAtOf(car.loanId)
    expect(lockAt).toBe(car.firstDueAt + BigInt(car.grace))
    const e = await startEngine([
      await define(
        'delinquent',
        `import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'condition', contract: 'CarLoan', abi: carLoanAbi, functionName: 'isDelinquent', args: [${car.loanId}n] },
  async handler(ctx) {
    ctx.log.info(JSON.stringify({ value: ctx.condition.value, block: String(ctx.block.number), timestamp: String(ctx.block.timestamp) }))
  },
})`,
      ),
    ])
    const runs = () => e.runsOf('delinquent')

    await e.mine()
    await e.mine(lockAt - 1n)
    expect(runs()).toEqual([])

    // the first block at lockAt turns it true: one run, from that block
    const first = await e.mine(lockAt)
    expect(runs()).toHaveLength(1)
    expect(runs()[0]).toMatchObject({ blockNumber: first.number, run: { status: 'ok' } })
    expect(seen(runs())[0]).toEqual({ value: true, block: String(first.number), timestamp: String(lockAt) })

    // still true in later blocks: no more runs
    await e.mine()
    await e.mine(lockAt + 86_400n)
    expect(runs()).toHaveLength(1)

    // the owner reloads the wallet: the overdue installment is paid, the condition turns false (no run)
    const reload = await clients.owner.writeContract({
      address: car.walletAddress,
      abi: carWalletAbi,
      functionName: 'reload',
      args: [car.installment],
      gas: 500_000n,
    })
    const paid = await e.mine()
    expect((await clients.pub.getTransactionReceipt({ hash: reload })).blockNumber).toBe(paid.number)
    const nextLockAt = await lockAtOf(car.loanId)
    expect(nextLockAt).toBe(lockAt + BigInt(car.period))
    await e.mine(nextLockAt - 1n)
    expect(runs()).toHaveLength(1)

    // and true again at the next lockAt: a second run, from that block
    const second = await e.mine(nextLockAt)
    await e.mine()
    expect(runs().map((r) => r.blockNumber)).toEqual([first.number, second.number])
    expect(seen(runs())[1]).toEqual({
      value: true,
      block: String(second.number),
      timestamp: String(nextLockAt),
    })
    expect(e.warnings).toEqual([])
  })
})

describe('schedule trigger', () => {
  it('every: 3600 fires in the blocks that reach each hour of chain time; at: fires once in the first block at or after it', async () => {
    const t0 = (await block(await head())).timestamp
    const at = t0 + 5000n
    const report = `ctx.log.info(JSON.stringify({ at: String(ctx.schedule.at), block: String(ctx.block.number), timestamp: String(ctx.block.timestamp) }))`
    const functions = [
      await define(
        'hourly',
        `export default defineFunction({ trigger: { type: 'schedule', every: 3600 }, handler(ctx) { ${report} } })`,
      ),
      await define(
        'once',
        `export default defineFunction({ trigger: { type: 'schedule', at: ${at} }, handler(ctx) { ${report} } })`,
      ),
    ]
    // the engine arms `every` one period after the head it starts on (no block is mined in between)
    const e = await startEngine(functions)
    expect(await e.engine.store.getTimer('hourly:schedule')).toMatchObject({ at: t0 + 3600n })

    const mined = []
    for (let i = 1n; i <= 6n; i++) mined.push(await e.mine(t0 + 1800n * i))
    // +1800 +3600 +5400 +7200 +9000 +10800: hours reached at +3600, +7200, +10800
    expect(seen(e.runsOf('hourly'))).toEqual([
      { at: String(t0 + 3600n), block: String(mined[1]?.number), timestamp: String(t0 + 3600n) },
      { at: String(t0 + 7200n), block: String(mined[3]?.number), timestamp: String(t0 + 7200n) },
      { at: String(t0 + 10800n), block: String(mined[5]?.number), timestamp: String(t0 + 10800n) },
    ])
    // `at` = +5000 is first reached by the block at +5400, and never again
    expect(seen(e.runsOf('once'))).toEqual([
      { at: String(at), block: String(mined[2]?.number), timestamp: String(t0 + 5400n) },
    ])

    // a jump over several hours fires once, for the first hour missed, and the next hour follows the grid
    const jump = await e.mine(t0 + 10800n + 3n * 3600n + 100n)
    expect(seen(e.runsOf('hourly')).at(-1)).toEqual({
      at: String(t0 + 14400n),
      block: String(jump.number),
      timestamp: String(jump.timestamp),
    })
    expect(await e.engine.store.getTimer('hourly:schedule')).toMatchObject({ at: t0 + 25200n })
    expect(e.runsOf('hourly')).toHaveLength(4)

    // reloading the same functions (hot reload) re-arms neither: `once` stays done, `hourly` keeps its grid
    await e.engine.setFunctions(functions)
    await e.mine(t0 + 25200n - 10n)
    await e.mine(t0 + 25200n - 5n)
    expect(e.runsOf('once')).toHaveLength(1)
    expect(e.runsOf('hourly')).toHaveLength(4)
    const onTheHour = await e.mine(t0 + 25200n)
    expect(seen(e.runsOf('hourly')).slice(4)).toEqual([
      { at: String(t0 + 25200n), block: String(onTheHour.number), timestamp: String(t0 + 25200n) },
    ])
    expect(e.runsOf('once')).toHaveLength(1)
    expect(e.runs.every((r) => r.run.status === 'ok')).toBe(true)
  })
})

describe('blocks trigger', () => {
  it('every: 3 runs exactly at block numbers divisible by 3', async () => {
    const e = await startEngine([
      await define(
        'third',
        `export default defineFunction({ trigger: { type: 'blocks', every: 3 }, handler(ctx) { ctx.log.info(JSON.stringify({ block: String(ctx.block.number) })) } })`,
      ),
    ])
    const mined = []
    for (let i = 0; i < 7; i++) mined.push((await e.mine()).number)
    const expected = mined.filter((n) => n % 3n === 0n)
    expect(expected.length).toBeGreaterThanOrEqual(2)
    expect(e.blocks.map((b) => b.number)).toEqual(mined)
    expect(e.runsOf('third').map((r) => r.blockNumber)).toEqual(expected)
    expect(seen(e.runsOf('third'))).toEqual(expected.map((n) => ({ block: String(n) })))
  })
})

describe('deadline trigger', () => {
  it('a loan repaid in full clears its timer: nothing runs at its old lockAt, while an unpaid loan locks', async () => {
    const e = await startEngine([await loadFunction(lockFile)])
    // opened while the engine runs: LoanOpened arms a timer per loan
    const repaid = await newCar({ installment: 100_000_000n, installments: 2 })
    const unpaid = await newCar({ installment: 100_000_000n })
    await e.sync()
    const timer = (loanId: bigint) => e.engine.store.getTimer(`lockOnMissedPayment:${loanId}`)
    const oldLockAt = repaid.firstDueAt + BigInt(repaid.grace)
    expect(await timer(repaid.loanId)).toMatchObject({ key: String(repaid.loanId), at: oldLockAt })
    const unpaidLockAt = unpaid.firstDueAt + BigInt(unpaid.grace)
    expect(await timer(unpaid.loanId)).toMatchObject({ at: unpaidLockAt })

    // both installments paid in one block: InstallmentPaid, InstallmentPaid, LoanRepaid
    await pay(repaid.loanId)
    await pay(repaid.loanId)
    await e.mine()
    const loan = await clients.pub.readContract({
      address: stack.deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'getLoan',
      args: [repaid.loanId],
    })
    expect(loan.outstanding).toBe(0n)
    expect(await timer(repaid.loanId)).toBeNull()

    // past the repaid loan's old lockAt, the lockAt its payments would have set, and the unpaid loan's
    const wouldBe = repaid.firstDueAt + 2n * BigInt(repaid.period) + BigInt(repaid.grace)
    const past = await e.mine((wouldBe > unpaidLockAt ? wouldBe : unpaidLockAt) + 1n)
    expect(past.timestamp).toBeGreaterThan(oldLockAt)
    await e.mine()
    const lockRuns = e.runsOf('lockOnMissedPayment')
    expect(lockRuns).toHaveLength(1)
    expect(lockRuns[0]).toMatchObject({ blockNumber: past.number, run: { status: 'ok' } })
    expect(lockRuns[0]?.jobId).toContain(`timer:lockOnMissedPayment:${unpaid.loanId}`)
    expect(await e.engine.store.getDevice(repaid.deviceId.toLowerCase())).toBeNull()
    expect(await e.engine.store.getDevice(unpaid.deviceId.toLowerCase())).toMatchObject({
      desiredVersion: 1,
      desired: { locked: true },
    })
    expect(e.desired.map((d) => [d.deviceId.toLowerCase(), d.state.locked])).toEqual([
      [unpaid.deviceId.toLowerCase(), true],
    ])
  })
})

describe('misbehaving functions', () => {
  it('become failed runs with their reason, and the demo lock function in the same engine still locks on time', async () => {
    const onPaid = `import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' },`
    const functions = [
      await loadFunction(lockFile),
      await loadFunction(unlockFile),
      await define(
        'throwsError',
        `${onPaid}
  async handler(ctx) { ctx.log.info('about to throw'); throw new Error('loan ' + ctx.event.args.loanId + ' is cursed') },
})`,
      ),
      await define(
        'throwsValue',
        `${onPaid}
  async handler() { throw { code: 42 } },
})`,
      ),
      await define(
        'spins',
        `${onPaid}
  limits: { timeoutMs: 300 },
  handler() { while (true) {} },
})`,
      ),
      await define(
        'bomb',
        `${onPaid}
  limits: { timeoutMs: 5000, memoryMb: 16 },
  handler() { const keep = []; for (let i = 0; ; i++) keep.push('x'.repeat(1000) + i) },
})`,
      ),
    ]
    const e = await startEngine(functions, { limits: { timeoutMs: 2000, memoryMb: 32 } })
    const car = await newCar({ installment: 100_000_000n })
    const agent = await startSimulatedCar({
      brokerUrl: stack.brokerUrl,
      deviceKey: car.devicePrivateKey,
      chain: {
        rpcUrl: stack.rpcUrl,
        chainId: stack.deployment.chainId,
        registry: stack.deployment.contracts.DeviceRegistry,
      },
      topicPrefix: e.topicPrefix,
      protocolVersion: 4,
      // a plain device: this engine runs no warning functions, which a car's immobilizer would want first
      immobilizer: false,
      print: () => {},
    })
    try {
      await agent.ready
      await e.sync()

      // one payment triggers all four misbehaving functions (and the demo's unlock function)
      await pay(car.loanId)
      const paid = await e.mine()
      const failed = ['throwsError', 'throwsValue', 'spins', 'bomb'].map((name) => e.runsOf(name))
      expect(failed.map((runs) => runs.length)).toEqual([1, 1, 1, 1])
      expect(failed.map((runs) => runs[0]?.blockNumber)).toEqual(Array(4).fill(paid.number))
      expect(failed.map((runs) => [runs[0]?.run.status, runs[0]?.run.error])).toEqual([
        [
          'failed',
          {
            name: 'FunctionRunError',
            reason: 'threw',
            message: `Function 'throwsError' threw: loan ${car.loanId} is cursed`,
          },
        ],
        [
          'failed',
          {
            name: 'FunctionRunError',
            reason: 'threw',
            message: `Function 'throwsValue' threw a non-Error value: {"code":42}`,
          },
        ],
        [
          'failed',
          {
            name: 'FunctionRunError',
            reason: 'timeout',
            message: "Function 'spins' ran longer than its 300 ms timeout",
          },
        ],
        [
          'failed',
          {
            name: 'FunctionRunError',
            reason: 'memory',
            message: "Function 'bomb' used more than its 16 MB memory limit",
          },
        ],
      ])
      expect(failed[0]?.[0]?.run.logs.map((l) => l.message)).toEqual(['about to throw'])
      // the store has the same failed runs, and the jobs are not retried
      const stored = await e.engine.store.listRuns({ status: 'failed' })
      expect(stored.map((r) => `${r.functionName}:${r.error?.reason}`).sort()).toEqual([
        'bomb:memory',
        'spins:timeout',
        'throwsError:threw',
        'throwsValue:threw',
      ])
      for (const r of stored)
        expect(await e.engine.store.getJob(r.jobId)).toMatchObject({ status: 'failed', attempts: 1 })
      expect(e.runsOf('unlockOnPayment').map((r) => r.run.status)).toEqual(['ok'])

      // the car still locks, in the first block at the loan's new lockAt and not before
      const lockAt = await lockAtOf(car.loanId)
      await e.mine(lockAt - 1n)
      expect(e.runsOf('lockOnMissedPayment')).toEqual([])
      const locked = agent.state().locked
        ? Promise.resolve()
        : waitFor(e.engine.events, 'device:reported', (r) => r.state.locked, 5_000, 'the car to lock')
      const due = await e.mine(lockAt)
      await locked
      expect(e.runsOf('lockOnMissedPayment').map((r) => [r.blockNumber, r.run.status])).toEqual([
        [due.number, 'ok'],
      ])
      expect(e.desired.map((d) => [d.blockNumber, d.state.locked])).toEqual([[due.number, true]])
      expect(agent.state().locked).toBe(true)
      // the misbehaving functions ran only for the payment
      expect(e.runs.filter((r) => r.run.status === 'failed')).toHaveLength(4)
    } finally {
      await agent.close()
    }
  })
})

describe('restart', () => {
  it('catches up from its cursor after downtime and locks exactly once for a deadline missed while down', async () => {
    const database = join(dir.path, `restart-${random()}.db`)
    const first = await startEngine([await loadFunction(lockFile)], { database })
    const car = await newCar({ installment: 100_000_000n })
    await first.sync()
    await first.mine()
    const lockAt = car.firstDueAt + BigInt(car.grace)
    expect(await first.engine.store.getTimer(`lockOnMissedPayment:${car.loanId}`)).toMatchObject({
      at: lockAt,
    })
    const cursor = await first.engine.store.getCursor(first.engine.chainId)
    await first.stop()

    // mined while pbj is down: one before the deadline, the one crossing it, one after
    const missed = [await mineRaw(lockAt - 10n), await mineRaw(lockAt + 5n), await mineRaw(lockAt + 20n)]
    expect(missed[0]?.number).toBe((cursor?.number ?? 0n) + 1n)

    const second = await startEngine([await loadFunction(lockFile)], { database })
    // it processed exactly the missed blocks, in order, before any new one
    expect(second.warmup.blocks.slice(0, 3).map((b) => b.number)).toEqual(missed.map((b) => b.number))
    const lockRuns = await second.engine.store.listRuns({ functionName: 'lockOnMissedPayment' })
    expect(lockRuns).toHaveLength(1)
    expect(lockRuns[0]).toMatchObject({ status: 'ok', attempt: 1 })
    // the job of the crossing block's due timer, for this loan
    expect(lockRuns[0]?.jobId).toContain(missed[1]?.hash)
    expect(lockRuns[0]?.jobId).toContain(`timer:lockOnMissedPayment:${car.loanId}`)
    expect(await second.engine.store.getJob(lockRuns[0]?.jobId ?? '')).toMatchObject({
      status: 'done',
      attempts: 1,
      blockNumber: missed[1]?.number,
    })
    expect(await second.engine.store.getTimer(`lockOnMissedPayment:${car.loanId}`)).toBeNull()
    const device = await second.engine.store.getDevice(car.deviceId.toLowerCase())
    expect(device).toMatchObject({ desiredVersion: 1, desired: { locked: true } })

    // more blocks, and another restart, do not lock again
    await second.mine()
    await second.stop()
    await mineRaw()
    const third = await startEngine([await loadFunction(lockFile)], { database })
    await third.mine()
    expect(await third.engine.store.listRuns({ functionName: 'lockOnMissedPayment' })).toHaveLength(1)
    expect(await third.engine.store.getDevice(car.deviceId.toLowerCase())).toMatchObject({
      desiredVersion: 1,
    })
    expect(
      [...second.runs, ...third.runs, ...third.warmup.runs].filter(
        (r) => r.run.functionName === 'lockOnMissedPayment',
      ),
    ).toEqual([])
  })
})
