import { carLoanAbi, carWalletAbi } from '@pbj/contracts'
import { createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterEach, describe, expect, it } from 'vitest'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { createDemoCar, type DemoCar } from '#pbj/demo/createDemoCar.js'
import { waitFor } from '#pbj/internal/waitFor.js'
import { createRpcProxy, type RpcProxy } from './helpers/createRpcProxy.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

type Block = EngineEvents['block']

/** Starts a scenario whose engine talks to Anvil only through `proxies` (made here, in front of Anvil). */
async function startBehindProxies(
  count: number,
  urls: (proxies: RpcProxy[]) => string[],
  extra: { period?: number; grace?: number } = {},
) {
  const proxies: RpcProxy[] = []
  const s = await startScenario({
    ...extra,
    // RPC resilience is what these tests are about: a plain device (no immobilizer, no warnings before a
    // lock); the car's own safety rules are tested in immobilizer.test.ts.
    plainDevice: true,
    rpcUrl: async (anvil) => {
      for (let i = 0; i < count; i++) proxies.push(await createRpcProxy(anvil.rpcUrl))
      for (const p of proxies) p.setFaults({})
      return urls(proxies)
    },
  })
  return { s, proxies }
}

const wsThenHttp = ([p]: RpcProxy[]) => [(p as RpcProxy).wsUrl, (p as RpcProxy).httpUrl]

/** Records the engine's block events and warnings (from now on). */
function record(s: Scenario) {
  const blocks: Block[] = []
  const warnings = s.logs.followWarnings()
  const errors: unknown[] = []
  s.engine.events.on('block', (b) => blocks.push(b))
  s.engine.events.on('error', (e) => errors.push(e))
  return { blocks, warnings, errors }
}

/** Every block from `from` to `to` once, in order. */
function expectEachBlockOnce(blocks: readonly Block[], from: bigint, to: bigint) {
  const expected = Array.from({ length: Number(to - from) + 1 }, (_, i) => from + BigInt(i))
  expect(blocks.map((b) => b.number)).toEqual(expected)
}

const waitForBlock = (s: Scenario, n: bigint, timeoutMs: number) =>
  waitFor(s.engine.events, 'block', (b) => b.number === n, timeoutMs, `pbj to process block ${n}`)

/** Pays installment 1 on time and returns the loan's lock time (due + grace of installment 2). */
async function payFirstInstallment(s: Scenario) {
  await s.reload(s.car.installment)
  await s.mine()
  const loan = await s.loan()
  return loan.nextDueAt + loan.grace
}

const locksOf = (s: Scenario, car?: DemoCar) =>
  s.desired.filter((d) => d.state.locked && (!car || d.deviceId.toLowerCase() === car.deviceId.toLowerCase()))

describe('RPC resilience through a fault-injecting proxy', () => {
  let s: Scenario | undefined
  let proxies: RpcProxy[] = []
  afterEach(async () => {
    await s?.stop()
    for (const p of proxies) await p.close()
    s = undefined
    proxies = []
  })

  it('(a) backfills the blocks mined while the WebSockets were down, each once and in order, and locks once', async () => {
    ;({ s, proxies } = await startBehindProxies(1, wsThenHttp))
    const proxy = proxies[0] as RpcProxy
    const lockAt = await payFirstInstallment(s)
    const { blocks, warnings } = record(s)
    const first = (await s.pub.getBlockNumber({ cacheTime: 0 })) + 1n

    // 20 blocks, 80 ms apart; the 13th reaches due + grace. Before the 6th every WebSocket is cut, and new
    // ones are refused for 1.2 s: blocks 6–20 are mined with no subscription (and no WS requests) at all.
    const minedAt = new Map<bigint, number>()
    for (let i = 0; i < 20; i++) {
      if (i === 5) proxy.dropWebSockets({ refuseMs: 1_200 })
      await s.test.setNextBlockTimestamp({ timestamp: lockAt - 12n + BigInt(i) })
      await s.test.mine({ blocks: 1 })
      minedAt.set(first + BigInt(i), Date.now())
      await new Promise((r) => setTimeout(r, 80))
    }
    const last = first + 19n
    if (!blocks.some((b) => b.number === last)) await waitForBlock(s, last, 10_000)
    await s.engine.idle()
    await s.waitForCar(true)

    expectEachBlockOnce(blocks, first, last)
    const due = first + 12n
    expect(locksOf(s)).toMatchObject([{ blockNumber: due }])
    expect(s.agent.state().locked).toBe(true)
    // The drop was seen at once and the gap polled, not left to the 2 s safety poll.
    expect(warnings.some((w) => w.startsWith('head subscription'))).toBe(true)
    const lags = blocks
      .filter((b) => b.number >= first + 5n)
      .map((b) => b.committedAt - (minedAt.get(b.number) ?? 0))
    // Below the 2 s safety poll: the reconnect itself caught up, not the poll.
    expect(Math.max(...lags)).toBeLessThan(1_900)
    const stats = proxy.stats()
    expect(stats.wsDropped).toBeGreaterThanOrEqual(2) // the heads socket and the request socket
    expect(stats.refused).toBeGreaterThan(0)

    // Subscribed again (the reconnect backs off up to 5 s): heads are pushed, no longer polled every 250 ms
    // (the follower's own safety poll, every 2 s, may show up once).
    await expect.poll(() => proxy.stats().calls.eth_subscribe, { timeout: 6_000 }).toBe(2)
    await new Promise((r) => setTimeout(r, 300))
    const polls = proxy.stats().headPolls
    await new Promise((r) => setTimeout(r, 1_000))
    expect(proxy.stats().headPolls - polls).toBeLessThanOrEqual(1)
    await s.mine()
    console.log(
      `(a) WS drop: max lag of a block mined during the outage ${Math.round(Math.max(...lags))} ms; proxy ${JSON.stringify({ wsDropped: stats.wsDropped, refused: stats.refused, subscribes: proxy.stats().calls.eth_subscribe })}`,
    )
  })

  it('(b) processes every block once and locks once through 30% server errors and 20% rate limiting', async () => {
    ;({ s, proxies } = await startBehindProxies(1, wsThenHttp))
    const proxy = proxies[0] as RpcProxy
    const lockAt = await payFirstInstallment(s)
    const { blocks, warnings, errors } = record(s)
    const first = (await s.pub.getBlockNumber({ cacheTime: 0 })) + 1n

    proxy.setFaults({ errorRate: 0.3, rateLimitRate: 0.2 })
    const started = Date.now()
    for (let i = 0; i < 20; i++) {
      await s.test.setNextBlockTimestamp({ timestamp: lockAt - 10n + BigInt(i) })
      await s.test.mine({ blocks: 1 })
      await new Promise((r) => setTimeout(r, 50))
    }
    const last = first + 19n
    // Under these faults the follower must still keep up: the last block within 15 s (it takes ~1 s).
    if (!blocks.some((b) => b.number === last)) await waitForBlock(s, last, 15_000)
    const faulty = proxy.stats()
    proxy.setFaults({})
    await s.engine.idle()
    await s.waitForCar(true)
    const after = await s.mine()

    expectEachBlockOnce(blocks, first, after.number)
    expect(locksOf(s)).toMatchObject([{ blockNumber: first + 10n }])
    expect(s.agent.state().locked).toBe(true)
    expect(faulty.serverErrors + faulty.rateLimited).toBeGreaterThan(0)
    // The faults met the engine's requests (its reads, the guard's, the follower's when a block's bloom
    // names a watched contract: these 20 blocks are empty, so the follower may need none), which backed off
    // and went on; nothing reached the error channel.
    expect(errors).toEqual([])
    console.log(
      `(b) 30% errors + 20% rate limits: 20 blocks in ${Date.now() - started} ms; ${faulty.serverErrors} server errors and ${faulty.rateLimited} rate limits injected; ${warnings.filter((w) => w.startsWith('RPC ')).length} follower retries`,
    )
  })

  // 'too-wide' names no limit (pbj halves until a range goes through); 'alchemy' names the span that works.
  it.each(['too-wide', 'alchemy'] as const)(
    '(c) catches up 500 blocks after downtime with eth_getLogs limited to 100 blocks (%s refusals), with the right locks',
    async (style) => {
      // Chain time scaled so a grace period holds the 48-hour final warning the contract requires.
      const period = 1_000_000
      const grace = 200_000
      ;({ s, proxies } = await startBehindProxies(1, wsThenHttp, { period, grace }))
      const proxy = proxies[0] as RpcProxy
      const scenario = s
      // A (the scenario's car, with its device agent) pays installment 1, so pbj knows its next deadline.
      await payFirstInstallment(scenario)
      // Three more loans (mined by automine while the engine runs): B pays ahead, C never pays, D pays late.
      await scenario.test.setAutomine(true)
      const [b, c, d] = [
        await createDemoCar(scenario.stack.deployment, { period, grace }),
        await createDemoCar(scenario.stack.deployment, { period, grace }),
        await createDemoCar(scenario.stack.deployment, { period, grace }),
      ] as [DemoCar, DemoCar, DemoCar]
      await scenario.test.setAutomine(false)
      await scenario.mine()
      const owner = createWalletClient({
        transport: http(scenario.stack.rpcUrl),
        account: privateKeyToAccount(demoAccounts.owner.privateKey),
        chain: scenario.pub.chain,
      })
      const pay = (car: DemoCar, installments: bigint) =>
        owner.writeContract({
          address: car.walletAddress,
          abi: carWalletAbi,
          functionName: 'reload',
          args: [car.installment * installments],
          gas: 1_000_000n,
        })

      // Engine down for 500 blocks, 6,000 s apart (3,000,000 s of chain time: every unpaid deadline passes). B reloads
      // five times (the wallet pays what is due, keeping the rest), D pays two installments after its lock.
      const downFrom = (await scenario.pub.getBlockNumber({ cacheTime: 0 })) + 1n
      const head = downFrom + 499n
      const payments: [number, DemoCar, bigint][] = [
        [50, b, 1n],
        [150, b, 1n],
        [250, b, 1n],
        [350, b, 1n],
        [450, b, 1n],
        [480, d, 2n],
      ]
      let startedAt = 0
      const before = proxy.stats()
      await scenario.restartEngine(async () => {
        let mined = 0
        for (const [at, car, installments] of payments) {
          if (at - 1 > mined) await scenario.test.mine({ blocks: at - 1 - mined, interval: 6_000 })
          await pay(car, installments)
          await scenario.test.mine({ blocks: 1, interval: 6_000 })
          mined = at
        }
        await scenario.test.mine({ blocks: 500 - mined, interval: 6_000 })
        proxy.setFaults({ maxLogsRange: 100, rangeErrorStyle: style })
        startedAt = performance.now()
      })
      expect(await scenario.pub.getBlockNumber({ cacheTime: 0 })).toBe(head)
      await expect
        .poll(async () => (await scenario.engine.store.getCursor(scenario.engine.chainId))?.number, {
          timeout: 30_000,
          interval: 5,
        })
        .toBe(head)
      const caughtUpIn = performance.now() - startedAt
      await scenario.engine.idle()

      // What should happen, read from the contract block by block: a car locks in the first block its loan is
      // delinquent (due + grace), and unlocks in the block a payment makes the loan current again.
      const delinquency = async (car: DemoCar) => {
        const out: boolean[] = []
        for (let i = 0; i < 500; i += 100)
          out.push(
            ...(await Promise.all(
              Array.from({ length: 100 }, (_, j) =>
                scenario.pub.readContract({
                  address: scenario.stack.deployment.contracts.CarLoan,
                  abi: carLoanAbi,
                  functionName: 'isDelinquent',
                  args: [car.loanId],
                  blockNumber: downFrom + BigInt(i + j),
                }),
              ),
            )),
          )
        return out
      }
      // Locks and unlocks: the plain device's functions send no warnings, but the reconciliation after the
      // catch-up warns a car whose loan is past due at the head without being delinquent (D, paid late).
      const isWarning = (x: EngineEvents['device:desired']) =>
        x.state.immobilizer?.stage === 'warning' || x.state.immobilizer?.stage === 'final-warning'
      const commands = (car: DemoCar) =>
        scenario.desired
          .filter((x) => x.deviceId.toLowerCase() === car.deviceId.toLowerCase() && !isWarning(x))
          .map((x) => ({ blockNumber: x.blockNumber, locked: x.state.locked }))
      // The device guard re-reads the loan at the latest block before any lock: catching up, a car whose loan
      // is current at the head is not locked for a delinquency that is over (nor, never locked, unlocked).
      const expectedCommands = (flags: boolean[]) =>
        flags.at(-1)
          ? flags.flatMap((now, i) =>
              now !== (i > 0 ? flags[i - 1] : false)
                ? [{ blockNumber: downFrom + BigInt(i), locked: now }]
                : [],
            )
          : []
      const a = scenario.car
      const outcome: Record<string, string> = {}
      for (const [name, car] of [
        ['A', a],
        ['B', b],
        ['C', c],
        ['D', d],
      ] as const) {
        const expected = expectedCommands(await delinquency(car))
        expect(commands(car), `commands to car ${name}`).toEqual(expected)
        outcome[name] =
          expected.map((x) => `${x.locked ? 'lock' : 'unlock'}@${x.blockNumber - downFrom + 1n}`).join(' ') ||
          'none'
      }
      // The expected story: A and C lock once; B (paid ahead) never locks; D, delinquent for a while but paid
      // by the time pbj catches up, is never locked: the guard refuses its lock.
      expect(outcome).toMatchObject({ B: 'none', D: 'none' })
      expect((await delinquency(d)).some(Boolean)).toBe(true)
      expect(
        scenario.runs.filter(
          (r) =>
            r.run.error?.name === 'CommandRefusedError' &&
            r.run.error.message.includes(d.deviceId.toLowerCase()),
        ),
      ).not.toEqual([])
      expect(outcome.A).toMatch(/^lock@\d+$/)
      expect(outcome.C).toMatch(/^lock@\d+$/)
      expect(scenario.agent.state().locked).toBe(true)
      // Blocks were processed on the chain's branch: the store holds the chain's hash at each height sampled
      // in the reorg window (the 250 blocks below the head it caught up to). A block caught up a full window
      // below that head is settled: no undo record and no hash, so a reorg reaching it is handled as a deep one.
      for (const n of [head - 249n, head - 101n, head - 100n, head - 1n, head]) {
        const blk = await scenario.pub.getBlock({ blockNumber: n })
        expect(await scenario.engine.store.getBlockHash(scenario.engine.chainId, n)).toBe(blk.hash)
      }
      expect(await scenario.engine.store.getBlockHash(scenario.engine.chainId, head - 250n)).toBeNull()

      const stats = proxy.stats()
      const ranges = stats.logRanges.slice(before.logRanges.length)
      const rejected = stats.rangeRejected - before.rangeRejected
      const rangeLogs = stats.rangeLogs - before.rangeLogs
      const byHash =
        (stats.calls.eth_getLogs ?? 0) - (before.calls.eth_getLogs ?? 0) - ranges.length - rejected
      const loanLogs = await scenario.pub.getLogs({
        address: scenario.stack.deployment.contracts.CarLoan,
        fromBlock: downFrom,
        toBlock: head,
      })
      expect(rejected).toBeGreaterThan(0)
      expect(rejected).toBeLessThanOrEqual(4) // the working span is remembered, not rediscovered per range
      expect(Math.max(...ranges)).toBeLessThanOrEqual(100)
      // The span grows from 10 blocks while answers stay small (and shrinks after a big one), up to the span
      // the 'alchemy' refusal names, which it reaches.
      if (style === 'alchemy') expect(Math.max(...ranges)).toBe(100)
      expect(ranges.reduce((x, y) => x + y, 0)).toBe(500)
      expect(loanLogs.length).toBeGreaterThanOrEqual(3)
      expect(rangeLogs).toBe(loanLogs.length)
      expect(byHash).toBeLessThanOrEqual(5) // not one eth_getLogs per block
      const seconds = caughtUpIn / 1000
      console.log(
        `(c, ${style}) catch-up of 500 blocks (engine start included): ${Math.round(caughtUpIn)} ms = ${Math.round(500 / seconds)} blocks/s, ${rangeLogs} logs = ${Math.round(rangeLogs / seconds)} logs/s; eth_getLogs: ${ranges.length} ranges (spans ${[...new Set(ranges)].join(', ')}), ${rejected} refused, ${byHash} by block hash; eth_getBlockByNumber: ${(stats.calls.eth_getBlockByNumber ?? 0) - (before.calls.eth_getBlockByNumber ?? 0)}; outcome (block of the 500): ${JSON.stringify(outcome)}`,
      )
    },
  )

  it('(d) fails over: with the first URL dead it runs on the second, and back on the first when the second dies', async () => {
    ;({ s, proxies } = await startBehindProxies(2, (ps) => {
      const [a, b] = ps as [RpcProxy, RpcProxy]
      a.setFaults({ down: true })
      return [a.wsUrl, b.wsUrl, b.httpUrl]
    }))
    const [a, b] = proxies as [RpcProxy, RpcProxy]
    const { blocks, errors } = record(s)
    const first = (await s.pub.getBlockNumber({ cacheTime: 0 })) + 1n
    const lockAt = await payFirstInstallment(s)
    expect(a.stats().refused).toBeGreaterThan(0)
    expect(b.stats().calls.eth_subscribe).toBe(1) // heads pushed over the second URL
    const locked = s.waitForCar(true)
    await s.mine(lockAt)
    await locked

    // The second URL dies, the first comes back: requests and heads move to the first.
    a.setFaults({})
    b.setFaults({ down: true })
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    const reload = await s.mine()
    await unlocked
    await s.mine()
    const last = await s.mine()

    expectEachBlockOnce(blocks, first, last.number)
    expect(locksOf(s)).toHaveLength(1)
    expect(s.desired.at(-1)).toMatchObject({ blockNumber: reload.number, state: { locked: false } })
    expect(a.stats().calls.eth_subscribe).toBeGreaterThanOrEqual(1)
    expect(errors).toEqual([])
  })
})
