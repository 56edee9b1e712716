// The device guard, end to end: before any command is stored or sent, pbj re-reads the car's one active loan
// at the newest block (the immobilizer class over CarLoan.carStatus) and checks the car is registered with
// its operator, whatever the function asked: lock only while delinquent, unlock only while not, warn only
// while a due date is missed.
import { carLoanAbi } from '@pbj/contracts'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { validateConfig } from '#pbj/config/validateConfig.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine } from '#pbj/engine/createEngine.js'
import { ConfigError } from '#pbj/internal/errors.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { createRpcProxy, type RpcProxy } from './helpers/createRpcProxy.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

const fns = makeFunctionsDir()
afterAll(() => fns.remove())

/** A function with a bug (or a malicious one): it locks the car of every loan that pays an installment. */
const lockOnPayment = () =>
  loadFunction(
    fns.write(
      'lockOnPayment',
      `import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
  // Granted, so the test reaches the guard: the guard holds even for a function allowed to lock.
  capabilities: { devices: { actions: ['lock'] } },
  async handler(ctx) {
    const loan = await ctx.chain.read({
      contract: 'CarLoan', abi: carLoanAbi, functionName: 'getLoan', args: [ctx.event.args.loanId],
    })
    await ctx.devices.lock(loan.car, { reason: 'rogue' })
  },
})`,
    ),
  )

/** Collects the engine's warnings from now on. */
const warnings = (s: Scenario) => s.logs.followWarnings()

const runsOf = (s: Scenario, name: string) => s.runs.filter((r) => r.run.functionName === name)

describe('the device guard on a real Anvil and the embedded broker', () => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({ extraFunctions: [await lockOnPayment()] })
  })
  afterAll(async () => s?.stop())

  it('refuses a lock of a car whose loan is current: the run fails with the reason, nothing is stored or sent', async () => {
    const seen = warnings(s)
    const deviceId = s.car.deviceId.toLowerCase()
    await s.reload(s.car.installment)
    const block = await s.mine()

    const [rogue] = runsOf(s, 'lockOnPayment')
    expect(rogue?.run.status).toBe('failed')
    expect(rogue?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'not-delinquent' })
    expect(rogue?.run.error?.message).toBe(
      `lock of ${deviceId} refused by the immobilizer guard at block ${block.number}: CarLoan loan #${s.car.loanId} is current, not delinquent`,
    )
    // A user-class error: not retried, the job is failed for good.
    expect((await s.engine.store.getJob(rogue?.jobId as string))?.status).toBe('failed')
    expect(seen.filter((w) => w.includes('refused'))).toEqual([rogue?.run.error?.message])
    // Nothing stored, nothing published, the car never heard of it.
    expect((await s.engine.store.getDevice(deviceId))?.desiredVersion ?? 0).toBe(0)
    expect(s.desired).toEqual([])
    expect(s.applied).toEqual([])
    expect(s.agent.state().locked).toBe(false)
  })

  it('lets the missed-payment lock through, never blocks the unlock, and refuses a re-lock racing it', async () => {
    const loan = await s.loan()
    const locked = s.waitForCar(true)
    const due = await s.mine(loan.nextDueAt + loan.grace)
    await locked
    const [lock] = runsOf(s, 'lockOnMissedPayment')
    expect(lock?.run.status).toBe('ok')
    const locks = () => s.desired.filter((d) => d.state.locked)
    expect(locks().map((d) => d.blockNumber)).toEqual([due.number])

    // The owner pays: the demo's unlock goes through while the buggy function's lock, in the same block,
    // finds the loan current at the latest block and is refused.
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    const paid = await s.mine()
    await unlocked
    expect(runsOf(s, 'unlockOnPayment').at(-1)?.run.status).toBe('ok')
    const refused = runsOf(s, 'lockOnPayment').at(-1)
    expect(refused?.blockNumber).toBe(paid.number)
    expect(refused?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'not-delinquent' })
    expect(locks()).toHaveLength(1)
    expect(s.desired.at(-1)?.state.locked).toBe(false)
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({ desired: { locked: false }, reportedVersion: device?.desiredVersion })
    expect(s.agent.state().locked).toBe(false)
  })
})

/**
 * A rogue function (a bug, or a compromised bundle): each block it carries out the plan the test put in its
 * kv store, whatever the chain says.
 */
const rogue = () =>
  loadFunction(
    fns.write(
      'rogue',
      `export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  // Granted every action: the chain's guard must hold even for a function allowed to do anything.
  capabilities: { devices: { actions: ['lock', 'unlock', 'warn'] } },
  async handler(ctx) {
    const plan = await ctx.kv.get('plan')
    if (!plan) return
    await ctx.kv.delete('plan')
    await ctx.devices[plan.action](plan.device, plan.options)
  },
})`,
    ),
  )

describe('the device guard against a rogue function', () => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({ extraFunctions: [await rogue()] })
  })
  afterAll(async () => s?.stop())

  /** Has the rogue function try `action` at the next block; returns its run. */
  const attempt = async (
    action: 'lock' | 'unlock' | 'warn',
    device: string,
    options: object = {},
    at?: bigint,
  ) => {
    await s.engine.store.kvSet('rogue', 'plan', JSON.stringify({ action, device, options }))
    const before = runsOf(s, 'rogue').length
    const block = await s.mine(at)
    const run = runsOf(s, 'rogue')
      .slice(before)
      .find((r) => r.run.status === 'failed' || r.blockNumber === block.number)
    return { run, block }
  }

  it('refuses commands to a device not registered with the operator, and warnings with no due date missed', async () => {
    const versionOf = async (id: string) => (await s.engine.store.getDevice(id))?.desiredVersion ?? 0
    const madeUp = `0x${'cd'.repeat(20)}`
    const { run } = await attempt('unlock', madeUp)
    expect(run?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'not-operator' })
    expect(run?.run.error?.message).toContain(`unlock of ${madeUp} refused: the device is not registered`)
    expect(await versionOf(madeUp)).toBe(0)

    const car = s.car.deviceId.toLowerCase()
    const { lockAt, policy } = await s.loanTerms()
    const warned = await attempt('warn', car, { lockAt: Number(lockAt), policy })
    expect(warned.run?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'no-missed-due-date' })
    expect(await versionOf(car)).toBe(0)
    expect(s.applied).toEqual([])
  })

  it('refuses a warning whose lockAt is not the loan’s, and an unlock of a delinquent car', async () => {
    const car = s.car.deviceId.toLowerCase()
    // A payment arms the loan's timers (the loan was opened before the engine started).
    await s.reload(s.car.installment)
    await s.mine()
    const { loan, lockAt, policy } = await s.loanTerms()
    // A day past the due date: a warning is due, but one that says the car locks a week early is not.
    const { run } = await attempt(
      'warn',
      car,
      { lockAt: Number(lockAt) - 7 * 86_400, policy },
      loan.nextDueAt + 86_400n,
    )
    expect(run?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'terms-mismatch' })

    const locked = s.waitForCar(true)
    await s.mine(lockAt)
    await locked
    const version = (await s.engine.store.getDevice(car))?.desiredVersion
    const unlock = await attempt('unlock', car)
    expect(unlock.run?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'delinquent' })
    expect((await s.engine.store.getDevice(car))?.desiredVersion).toBe(version)
    expect(s.agent.state().locked).toBe(true)
  })
})

describe('the device guard fails closed', () => {
  let s: Scenario
  afterAll(async () => s?.stop())

  it('refuses a due lock when the guard cannot be read (a view that reverts), and does not retry it', async () => {
    // DeviceRegistry has no carStatus: every call to it reverts. The start-up check (verify) would refuse
    // this class (startChecks.test); without it, this is a guard that cannot be read at run time.
    const { verify: _checkedAtStart, ...unverified } = immobilizerClass({ contract: 'DeviceRegistry' })
    s = await startScenario({ deviceClass: unverified })
    const seen = warnings(s)
    // A payment arms the lock timer (the loan was opened before the engine started), then it falls due.
    await s.reload(s.car.installment)
    await s.mine()
    const loan = await s.loan()
    const due = await s.mine(loan.nextDueAt + loan.grace)
    // The loan really is delinquent: only the guard stands between the function and the car.
    expect(
      await s.pub.readContract({
        address: s.stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'isCarDelinquent',
        args: [s.car.deviceId],
      }),
    ).toBe(true)
    const [lock] = runsOf(s, 'lockOnMissedPayment')
    expect(lock?.run.status).toBe('failed')
    expect(lock?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'guard-failed' })
    expect(lock?.run.error?.message).toContain(
      `lock of ${s.car.deviceId.toLowerCase()} refused: the immobilizer guard could not read the chain at block ${due.number}`,
    )
    expect((await s.engine.store.getJob(lock?.jobId as string))?.status).toBe('failed')
    expect(seen).toContain(lock?.run.error?.message)
    // No command passes an unreadable guard: neither the warnings nor the lock.
    expect((await s.engine.store.getDevice(s.car.deviceId.toLowerCase()))?.desired?.locked ?? false).toBe(
      false,
    )
    expect(s.desired.filter((d) => d.state.locked)).toEqual([])
    expect(s.applied.filter((a) => a.locked)).toEqual([])
    expect(s.agent.state().locked).toBe(false)
  })
})

describe('the device guard when the RPC blinks', () => {
  let s: Scenario
  let proxy: RpcProxy
  beforeAll(async () => {
    s = await startScenario({
      rpcUrl: async (anvil) => {
        proxy = await createRpcProxy(anvil.rpcUrl)
        return [proxy.wsUrl, proxy.httpUrl]
      },
    })
  })
  afterAll(async () => {
    await s?.stop()
    await proxy?.close()
  })

  it('still unlocks a paid car when the reads of its unlock fail for a while (retried, never dropped)', async () => {
    await s.lockTheCar()
    // The owner pays; the node then fails the next reads: the function's and the guard's alike.
    proxy.setFaults({ failNext: { method: 'eth_call', times: 4 } })
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment * 2n)
    await s.mine()
    await unlocked
    expect(proxy.stats().serverErrors).toBeGreaterThanOrEqual(4)
    expect(s.agent.state().locked).toBe(false)
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({ desired: { locked: false }, reportedVersion: device?.desiredVersion })
  })
})

describe('with no guard to evaluate', () => {
  let anvil: AnvilNode
  let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>
  beforeAll(async () => {
    anvil = await startAnvil()
    broker = await startEmbeddedBroker()
  })
  afterAll(async () => {
    await broker?.close()
    await anvil?.stop()
  })

  it('refuses every command, unlocks included, when no device class is configured', async () => {
    const file = fns.write(
      'lockAnything',
      `export default defineFunction({
        trigger: { type: 'blocks', every: 1 },
        capabilities: { devices: { actions: ['unlock', 'lock'] } },
        async handler(ctx) {
          const car = '0x${'ab'.repeat(20)}'
          await ctx.devices.unlock(car)
          await ctx.devices.lock(car)
        },
      })`,
    )
    const engine = await createEngine({
      rpcUrl: anvil.wsUrl,
      brokerUrl: broker.url,
      database: ':memory:',
      functions: [await loadFunction(file)],
    })
    const runs: EngineEvents['run'][] = []
    engine.events.on('run', (r) => runs.push(r))
    try {
      await engine.start()
      await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 1 })
      await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 10_000, interval: 20 })
      expect(runs[0]?.run.error).toMatchObject({ name: 'CommandRefusedError', reason: 'no-guard' })
      expect(runs[0]?.run.error?.message).toContain(
        `unlock of 0x${'ab'.repeat(20)} refused: no device class is configured`,
      )
      expect(await engine.store.getDevice(`0x${'ab'.repeat(20)}`)).toBeNull()
    } finally {
      await engine.stop()
    }
  })

  it('refuses at start a device class naming an unknown contract, before connecting anywhere', async () => {
    await expect(
      createEngine({
        rpcUrl: 'ws://127.0.0.1:9',
        brokerUrl: 'mqtt://127.0.0.1:9',
        database: ':memory:',
        functions: [],
        contracts: { CarLoan: `0x${'11'.repeat(20)}` },
        deviceClass: immobilizerClass({ contract: 'LoanBook' }),
      }),
    ).rejects.toThrow(/deviceClass immobilizer: contract 'LoanBook' is not a known contract/)
  })

  it('validates the device class in the config file', () => {
    const ok = { deviceClass: immobilizerClass({ contract: 'CarLoan' }) }
    expect(validateConfig(ok, 'pbj.config.ts')).toEqual(ok)
    const bad = () => validateConfig({ deviceClass: { lock: { contract: 'CarLoan' } } }, 'x')
    expect(bad).toThrow(ConfigError)
    expect(bad).toThrow(/deviceClass: must be a device class/)
    expect(() => validateConfig({ guards: { lock: {} } }, 'x')).toThrow(/unknown field\(s\) 'guards'/)
  })
})
