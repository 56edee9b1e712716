import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GuardChain } from '#pbj/actions/devices/deviceClass.js'
import type { DeviceDesired } from '#pbj/core/device.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { createDemoCar } from '#pbj/demo/createDemoCar.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { waitFor } from '#pbj/internal/waitFor.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { createRpcProxy, type RpcProxy } from './helpers/createRpcProxy.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

/** Polls `check` every 20 ms until it holds, for at most `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = performance.now() + ms
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Drift: a desired state set in the store behind pbj's back (nothing checked, signed or sent). */
const drift = (s: Scenario, deviceId: string, desired: DeviceDesired, id: string) =>
  s.engine.store.setDesired(deviceId, desired, id, Date.now())

describe('chain-level reconciliation on a real Anvil', () => {
  let s: Scenario
  let car: string
  const corrected: EngineEvents['device:corrected'][] = []
  beforeAll(async () => {
    s = await startScenario({})
    car = s.car.deviceId.toLowerCase()
  })
  afterAll(async () => s?.stop())

  it('locks a car whose stored state says unlocked while its loan is delinquent, at start-up, through the guard, signed and recorded', async () => {
    await s.lockTheCar()
    const before = await s.engine.store.getDevice(car)
    expect(before?.desired?.locked).toBe(true)
    const locked = before?.desired as DeviceDesired

    // While the engine is down the store drifts: the car's desired state says unlocked (a restore from an
    // old back-up, a hand edit). The restarted engine publishes it (the car unlocks), then reconciles.
    await s.restartEngine(async () => {
      const store = createSqliteStore({ path: s.database })
      await store.setDesired(car, { locked: false, reason: 'drift' }, 'drift-1', Date.now())
      await store.close()
    })
    const driftVersion = (before?.desiredVersion ?? 0) + 1
    await eventually(
      async () => (await s.engine.store.deviceCorrections.list({ deviceId: car })).length > 0,
      10_000,
      'the start-up reconciliation',
    )
    const [correction] = await s.engine.store.deviceCorrections.list({ deviceId: car })
    expect(correction).toMatchObject({
      from: 'unlocked',
      to: 'locked',
      reason: 'start',
      outcome: 'corrected',
      version: driftVersion + 1,
      detail: null,
    })
    const device = await s.engine.store.getDevice(car)
    // the chain's lock: the loan's own lockAt and policy (the guard checks them), the standard message
    expect(device).toMatchObject({ desiredVersion: driftVersion + 1, desired: locked })
    // the car applies only commands signed by its operator: it applied the correction
    await eventually(
      () => s.agent.state().version === driftVersion + 1 && s.agent.state().locked,
      5_000,
      'the car to apply the correction',
    )
    await eventually(
      () => s.carLog().some((e) => e.version === driftVersion + 1),
      2_000,
      "the correction in the car's log",
    )
  })

  it('unlocks a car whose stored state says locked while its loan is current, on request', async () => {
    s.engine.events.on('device:corrected', (c) => corrected.push(c))
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    await s.mine()
    await unlocked
    const paid = await s.engine.store.getDevice(car)
    expect(paid?.desired).toMatchObject({ locked: false })

    await drift(s, car, { locked: true, reason: 'drift' }, 'drift-2')
    const summary = await s.engine.reconcile()
    expect(summary).toMatchObject({ reason: 'manual', corrected: 1, refused: 0, failed: 0 })
    expect(summary?.devices).toBeGreaterThanOrEqual(1)
    const version = (paid?.desiredVersion ?? 0) + 2
    expect(corrected).toEqual([
      expect.objectContaining({
        deviceId: car,
        reason: 'chain',
        from: 'locked',
        to: 'unlocked',
        desiredVersion: version,
        trigger: 'manual',
        blockNumber: summary?.atBlock,
      }),
    ])
    expect(await s.engine.store.getDevice(car)).toMatchObject({
      desiredVersion: version,
      desired: { locked: false },
    })
    await eventually(() => s.agent.state().version === version, 5_000, 'the car to apply the unlock')
    expect(s.agent.state().locked).toBe(false)

    // in step again: a second pass finds nothing to do
    expect(await s.engine.reconcile()).toMatchObject({ corrected: 0, refused: 0, failed: 0 })
  })

  it("does not force a device the guard refuses (an outsider's device): the refusal stands and is recorded once", async () => {
    const outsider = '0x00000000000000000000000000000000000000aa'
    await drift(s, outsider, { locked: true, reason: 'not ours' }, 'outsider-1')
    const desired: EngineEvents['device:desired'][] = []
    s.engine.events.on('device:desired', (d) => desired.push(d))

    // no loan: the chain says unlocked, but the device is not registered with this engine's operator
    const first = await s.engine.reconcile()
    expect(first).toMatchObject({ corrected: 0, refused: 1, failed: 0 })
    const second = await s.engine.reconcile()
    expect(second).toMatchObject({ corrected: 0, refused: 1 })
    const records = await s.engine.store.deviceCorrections.list({ deviceId: outsider })
    expect(records).toEqual([
      expect.objectContaining({ from: 'locked', to: 'unlocked', outcome: 'refused', version: null }),
    ])
    expect(records[0]?.detail).toMatch(/^not-operator: /)
    // nothing stored, signed or sent
    expect(await s.engine.store.getDevice(outsider)).toMatchObject({
      desiredVersion: 1,
      desired: { locked: true },
    })
    expect(desired.filter((d) => d.deviceId === outsider)).toEqual([])
    expect(corrected.filter((c) => c.deviceId === outsider)).toEqual([])
  })

  it('with listCars, the immobilizer lists the car of every loan, also one the store has never seen', async () => {
    await s.test.setAutomine(true)
    const other = await createDemoCar(s.stack.deployment, {})
    await s.test.setAutomine(false)
    const blockNumber = await s.pub.getBlockNumber({ cacheTime: 0 })
    const chain: GuardChain = {
      blockNumber,
      contracts: s.stack.deployment.contracts,
      read: (call) =>
        s.pub.readContract({ ...call, blockNumber } as Parameters<typeof s.pub.readContract>[0]),
    }
    const listing = immobilizerClass({ contract: 'CarLoan', listCars: true })
    const cars = await listing.listDevices?.(chain)
    expect(cars).toEqual(expect.arrayContaining([car, other.deviceId.toLowerCase()]))
    expect(await s.engine.store.getDevice(other.deviceId.toLowerCase())).toBeNull()
    // a new loan is current: the chain says unlocked, which a car never commanded already is
    expect(await listing.desiredFromChain?.(other.deviceId, chain)).toMatchObject({ action: 'unlock' })
    // off by default: a loan contract shared with other operators lists their cars too
    expect(immobilizerClass({ contract: 'CarLoan' }).listDevices).toBeUndefined()
  })
})

describe('periodic reconciliation', () => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({ reconcile: { intervalMs: 400 } })
  })
  afterAll(async () => s?.stop())

  it('corrects drift injected while the engine runs, on its interval', async () => {
    await s.lockTheCar()
    const car = s.car.deviceId.toLowerCase()
    const before = await s.engine.store.getDevice(car)
    const passes: EngineEvents['reconciled'][] = []
    s.engine.events.on('reconciled', (r) => passes.push(r))
    const corrected = waitFor(
      s.engine.events,
      'device:corrected',
      (c) => c.reason === 'chain' && c.deviceId === car,
      5_000,
      'a periodic correction',
    )
    await drift(s, car, { locked: false, reason: 'drift' }, 'drift-periodic')
    expect(await corrected).toMatchObject({ from: 'unlocked', to: 'locked', trigger: 'periodic' })
    expect(await s.engine.store.getDevice(car)).toMatchObject({
      desiredVersion: (before?.desiredVersion ?? 0) + 2,
      desired: before?.desired,
    })
    // the pass that corrected it, then the next one, which finds the car in step
    await eventually(() => passes.some((p) => p.corrected === 1), 2_000, 'the correcting pass to end')
    const correcting = passes.findIndex((p) => p.corrected === 1)
    await eventually(() => passes.length > correcting + 1, 2_000, 'the next periodic pass')
    expect(passes[correcting]).toMatchObject({ reason: 'periodic', devices: 1 })
    expect(passes[correcting + 1]).toMatchObject({ reason: 'periodic', corrected: 0, refused: 0, failed: 0 })
    expect(await s.engine.store.deviceCorrections.list({ deviceId: car })).toEqual([
      expect.objectContaining({ reason: 'periodic', outcome: 'corrected', from: 'unlocked', to: 'locked' }),
    ])
  })
})

describe('reconciliation after outages', () => {
  let s: Scenario
  let proxy: RpcProxy
  let car: string
  beforeAll(async () => {
    s = await startScenario({
      rpcUrl: async (anvil) => {
        proxy = await createRpcProxy(anvil.rpcUrl)
        return [proxy.wsUrl, proxy.httpUrl]
      },
    })
    car = s.car.deviceId.toLowerCase()
    await s.lockTheCar()
    // one block more: the scheduled re-check of the lock time (a block deep) runs now, finding the car
    // locked, rather than during a test's outage, where it would correct the drift before the outage pass
    await s.mine()
    await eventually(
      async () => (await s.engine.store.getDevice(car))?.desired?.locked === true,
      5_000,
      'locked',
    )
  })
  afterAll(async () => {
    await s?.stop()
    await proxy?.close()
  })

  it('reconciles once the follower reaches the head again after the RPC was unreachable', async () => {
    await drift(s, car, { locked: false, reason: 'drift' }, 'drift-rpc')
    const warnings = s.logs.followWarnings()
    const reconciled = waitFor(s.engine.events, 'reconciled', (r) => r.reason === 'outage', 15_000, 'a pass')
    proxy.setFaults({ down: true })
    await eventually(() => warnings.some((w) => w.startsWith('head poll')), 5_000, 'the head poll to fail')
    await s.test.mine({ blocks: 2 })
    proxy.setFaults({})
    expect(await reconciled).toMatchObject({ corrected: 1, refused: 0, failed: 0 })
    expect((await s.engine.store.deviceCorrections.list({ deviceId: car })).at(-1)).toMatchObject({
      reason: 'outage',
      outcome: 'corrected',
      from: 'unlocked',
      to: 'locked',
    })
  })

  it('reconciles when the broker reconnects', async () => {
    await drift(s, car, { locked: false, reason: 'drift' }, 'drift-broker')
    const reconciled = waitFor(s.engine.events, 'reconciled', (r) => r.reason === 'outage', 15_000, 'a pass')
    await s.stopBroker()
    await s.startBroker()
    expect(await reconciled).toMatchObject({ corrected: 1, refused: 0, failed: 0 })
    expect(await s.engine.store.getDevice(car)).toMatchObject({ desired: { locked: true } })
    await eventually(() => s.agent.state().locked, 10_000, 'the car to stay locked')
  })
})
