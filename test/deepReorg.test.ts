import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { waitFor } from '#pbj/internal/waitFor.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

/** The window of this test: small, so a reorg deeper than it takes a few blocks, not 250. */
const maxReorgDepth = 5

describe('a reorg deeper than the window, on a real Anvil', () => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({ maxReorgDepth })
  })
  afterAll(async () => s?.stop())

  it('resumes from the new chain, says so loudly, locks the car whose payment vanished, and keeps following', async () => {
    await s.lockTheCar()
    const car = s.car.deviceId.toLowerCase()
    const dueBefore = (await s.loan()).nextDueAt

    // The old chain: the owner reloads, the wallet pays, the car unlocks; then blocks pile up on top.
    const snapshot = await s.test.snapshot()
    const forkedAt = await s.pub.getBlockNumber({ cacheTime: 0 })
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    const payment = await s.mine()
    await unlocked
    for (let i = 0; i < maxReorgDepth + 3; i++) await s.mine()
    const oldHead = await s.pub.getBlockNumber({ cacheTime: 0 })
    expect(oldHead - payment.number).toBeGreaterThan(BigInt(maxReorgDepth))

    // The new chain forks below the payment, deeper than the window, and grows past the old head.
    const deep = waitFor(s.engine.events, 'reorg:deep', () => true, 20_000, 'the deep reorg')
    const reconciled = waitFor(
      s.engine.events,
      'reconciled',
      (r) => r.reason === 'deepReorg',
      20_000,
      'a pass',
    )
    const corrected: EngineEvents['device:corrected'][] = []
    s.engine.events.on('device:corrected', (c) => corrected.push(c))
    const relocked = waitFor(
      s.engine.events,
      'device:reported',
      (r) => r.state.locked,
      20_000,
      'the car to lock',
    )
    await s.test.revert({ id: snapshot })
    await s.test.request({ method: 'anvil_dropAllTransactions', params: [] } as never)
    await s.test.mine({ blocks: Number(oldHead - forkedAt) + 2 })
    const newHead = await s.pub.getBlockNumber({ cacheTime: 0 })
    expect(newHead).toBeGreaterThan(oldHead)
    // on the new chain the payment never happened
    expect((await s.loan()).nextDueAt).toBe(dueBefore)

    // rolled back the window and resumed at its depth on the new chain
    const event = await deep
    expect(event).toEqual({
      from: oldHead - BigInt(maxReorgDepth) + 1n,
      to: oldHead,
      resumedAt: oldHead - BigInt(maxReorgDepth),
    })
    const loud = s.logs.records.filter((r) => r.level === 'error' && r.fields.deepReorg === true)
    expect(loud).toHaveLength(1)
    expect(loud[0]?.message).toContain(`resumes from the node's block ${event.resumedAt}`)
    expect(loud[0]?.fields).toMatchObject({ maxReorgDepth, resumedAt: event.resumedAt })

    // the payment's block is below the window: no onReorg compensates it; the reconciliation locks the car
    expect(await reconciled).toMatchObject({ corrected: 1, refused: 0, failed: 0 })
    expect(corrected).toEqual([
      expect.objectContaining({
        deviceId: car,
        reason: 'chain',
        from: 'unlocked',
        to: 'locked',
        trigger: 'deepReorg',
      }),
    ])
    await relocked
    expect(s.agent.state().locked).toBe(true)
    expect((await s.engine.store.getDevice(car))?.desired?.locked).toBe(true)
    expect(await s.engine.store.deviceCorrections.list({ deviceId: car })).toEqual([
      expect.objectContaining({ reason: 'deepReorg', outcome: 'corrected', from: 'unlocked', to: 'locked' }),
    ])

    // the follower went on: the new chain's blocks are processed, and the next ones too
    const cursor = await s.engine.store.getCursor(s.engine.chainId)
    expect(cursor?.number).toBe(newHead)
    expect(cursor?.hash).toBe((await s.pub.getBlock({ blockNumber: newHead })).hash)
    const next = await s.mine()
    expect(next.number).toBe(newHead + 1n)
    expect(s.agent.state().locked).toBe(true)
    expect(s.runs.filter((r) => r.run.status !== 'ok')).toEqual([])
  })
})

describe('a deep reorg that moves a lock time back, with no periodic passes, on a real Anvil', () => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({ maxReorgDepth, reconcile: { intervalMs: 0 } })
  })
  afterAll(async () => s?.stop())

  it('locks the car at the first block past the lock time its vanished payment had moved (reason scheduled)', async () => {
    const car = s.car.deviceId.toLowerCase()
    // Installment 1 is paid; the next due date passes unpaid: the car is warned.
    await s.reload(s.car.installment)
    await s.mine()
    const due = (await s.loan()).nextDueAt
    const warned = s.waitForCar(false)
    await s.mine(due + 60n)
    await warned
    expect((await s.engine.store.getDevice(car))?.desired?.immobilizer?.stage).toBe('warning')

    // The old chain: the owner pays, the warning clears (the loan's timers move a period on).
    const snapshot = await s.test.snapshot()
    const forkedAt = await s.pub.getBlockNumber({ cacheTime: 0 })
    await s.reload(s.car.installment)
    await s.mine()
    expect((await s.loan()).nextDueAt).toBeGreaterThan(due)
    await expect
      .poll(async () => (await s.engine.store.getDevice(car))?.desired?.immobilizer?.stage ?? 'none')
      .not.toBe('warning')
    for (let i = 0; i < maxReorgDepth + 3; i++) await s.mine()
    const oldHead = await s.pub.getBlockNumber({ cacheTime: 0 })

    // The new chain forks below the payment, deeper than the window; its lock time is still ahead.
    const reconciled = waitFor(
      s.engine.events,
      'reconciled',
      (r) => r.reason === 'deepReorg',
      20_000,
      'the deep reorg pass',
    )
    await s.test.revert({ id: snapshot })
    await s.test.request({ method: 'anvil_dropAllTransactions', params: [] } as never)
    await s.test.mine({ blocks: Number(oldHead - forkedAt) + 2 })
    const { lockAt } = await s.loanTerms()
    expect((await s.loan()).nextDueAt).toBe(due)
    const head = await s.pub.getBlock({ blockTag: 'latest' })
    expect(head.timestamp).toBeLessThan(lockAt)
    // the pass finds the car warned again, not locked: its time has not come on this chain
    expect(await reconciled).toMatchObject({ failed: 0 })
    expect(s.agent.state().locked).toBe(false)

    // No function's timer is left for this lock time (the payment moved it, below the window): the
    // reconciler's schedule locks the car once a block's time passes it, with no periodic pass.
    // The correction is emitted once it is recorded, which may be after the car's report of the lock
    // arrived: wait for both. Had a function locked the car, the re-check would find it locked already and
    // correct nothing, and this would time out.
    const corrected = waitFor(
      s.engine.events,
      'device:corrected',
      (c) => c.deviceId === car && c.reason === 'chain' && c.trigger === 'scheduled' && c.to === 'locked',
      20_000,
      'the scheduled re-check to correct the car',
    )
    const locked = waitFor(
      s.engine.events,
      'device:reported',
      (r) => r.state.locked,
      20_000,
      'the car to lock',
    )
    await s.mine(lockAt + 1n)
    await s.mine() // the re-check acts once the block past the lock time is one block deep
    await locked
    expect(s.agent.state().locked).toBe(true)
    expect(await corrected).toMatchObject({
      deviceId: car,
      reason: 'chain',
      to: 'locked',
      trigger: 'scheduled',
    })
    expect(await s.engine.store.deviceCorrections.list({ deviceId: car })).toContainEqual(
      expect.objectContaining({ reason: 'scheduled', outcome: 'corrected', to: 'locked' }),
    )
    expect(s.runs.filter((r) => r.run.status !== 'ok')).toEqual([])
  })
})
