// The pre-lock guard, end to end: before any lock is stored or sent, pbj re-reads the car's loan at the
// latest block (CarLoan.isCarDelinquent by default), whatever the function asked.
import { carLoanAbi } from '@pbj/contracts'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startEmbeddedBroker } from '../packages/pbj/src/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '../packages/pbj/src/chain/startAnvil.js'
import { validateConfig } from '../packages/pbj/src/config/validateConfig.js'
import { createEngine } from '../packages/pbj/src/engine/createEngine.js'
import type { EngineEvents } from '../packages/pbj/src/engine/types.js'
import { ConfigError } from '../packages/pbj/src/internal/errors.js'
import { loadFunction } from '../packages/pbj/src/runtime/loadFunction.js'
import { makeFunctionsDir } from '../packages/pbj/src/runtime/testFunctions.js'
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
const warnings = (s: Scenario) => {
  const seen: string[] = []
  s.engine.events.on('warning', (m) => seen.push(m))
  return seen
}

const runsOf = (s: Scenario, name: string) => s.runs.filter((r) => r.run.functionName === name)

describe('the pre-lock guard on a real Anvil and the embedded broker', () => {
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
    expect(rogue?.run.error).toMatchObject({ name: 'LockRefusedError', reason: 'loan-current' })
    expect(rogue?.run.error?.message).toBe(
      `lock of ${deviceId} refused: the pre-lock guard CarLoan.isCarDelinquent(${deviceId}) returned false at block ${block.number} (the loan is current)`,
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
    expect(refused?.run.error).toMatchObject({ name: 'LockRefusedError', reason: 'loan-current' })
    expect(locks()).toHaveLength(1)
    expect(s.desired.at(-1)?.state.locked).toBe(false)
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({ desired: { locked: false }, reportedVersion: device?.desiredVersion })
    expect(s.agent.state().locked).toBe(false)
  })
})

describe('the pre-lock guard fails closed', () => {
  let s: Scenario
  afterAll(async () => s?.stop())

  it('refuses a due lock when the guard cannot be read (a view that reverts), and does not retry it', async () => {
    // DeviceRegistry has no isCarDelinquent: every call to it reverts.
    s = await startScenario({
      guards: { lock: { contract: 'DeviceRegistry', functionName: 'isCarDelinquent' } },
    })
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
    expect(lock?.run.error).toMatchObject({ name: 'LockRefusedError', reason: 'guard-failed' })
    expect(lock?.run.error?.message).toContain(
      `the pre-lock guard DeviceRegistry.isCarDelinquent(${s.car.deviceId.toLowerCase()}) failed at block ${due.number}`,
    )
    expect((await s.engine.store.getJob(lock?.jobId as string))?.status).toBe('failed')
    expect(seen).toContain(lock?.run.error?.message)
    // Warnings may go out (they do not immobilize and pass no guard); no lock does.
    expect((await s.engine.store.getDevice(s.car.deviceId.toLowerCase()))?.desired?.locked ?? false).toBe(
      false,
    )
    expect(s.desired.filter((d) => d.state.locked)).toEqual([])
    expect(s.applied.filter((a) => a.locked)).toEqual([])
    expect(s.agent.state().locked).toBe(false)
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

  it('refuses every lock when no CarLoan contract and no guards.lock are configured, but unlocks', async () => {
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
      expect(runs[0]?.run.error).toMatchObject({ name: 'LockRefusedError', reason: 'no-guard' })
      expect(runs[0]?.run.error?.message).toContain('no pre-lock guard is configured')
      // The unlock before it went through: only locks pass the guard.
      expect(await engine.store.getDevice(`0x${'ab'.repeat(20)}`)).toMatchObject({
        desiredVersion: 1,
        desired: { locked: false },
      })
    } finally {
      await engine.stop()
    }
  })

  it('refuses at start a guard naming an unknown contract, before connecting anywhere', async () => {
    await expect(
      createEngine({
        rpcUrl: 'ws://127.0.0.1:9',
        brokerUrl: 'mqtt://127.0.0.1:9',
        database: ':memory:',
        functions: [],
        contracts: { CarLoan: `0x${'11'.repeat(20)}` },
        guards: { lock: { contract: 'LoanBook', functionName: 'isCarDelinquent' } },
      }),
    ).rejects.toThrow(/guards\.lock\.contract 'LoanBook' is not a known contract/)
  })

  it('validates guards in the config file', () => {
    const ok = { guards: { lock: { contract: 'CarLoan', functionName: 'isCarDelinquent' } } }
    expect(validateConfig(ok, 'pbj.config.ts')).toEqual(ok)
    const bad = () =>
      validateConfig({ guards: { lock: { contract: 'CarLoan', functionName: 'is delinquent' } } }, 'x')
    expect(bad).toThrow(ConfigError)
    expect(bad).toThrow(/guards\.lock\.functionName: must be the name of a view/)
    expect(() => validateConfig({ guards: { unlock: {} } }, 'x')).toThrow(/unknown field\(s\) 'unlock'/)
  })
})
