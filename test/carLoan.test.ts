import { LOCK_MESSAGE } from '@pbj/device'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brokers, type Scenario, startScenario } from './helpers/startScenario.js'

describe.each(brokers)('car-loan lockout on a real Anvil and $name', (broker) => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({ brokerUrl: broker.url, protocolVersion: broker.protocolVersion })
  })
  afterAll(async () => s?.stop())

  it('pays on time without locking, locks in the first block at due + grace and never earlier, unlocks on reload', async () => {
    // the wallet pays installment 1 on time
    await s.reload(s.car.installment)
    await s.mine()
    const loan = await s.loan()
    expect(loan.nextDueAt).toBe(s.car.firstDueAt + BigInt(s.car.period))
    expect(s.agent.state().locked).toBe(false)

    // one second before due + grace: the timer is not due, nothing runs, nothing locks
    const lockAt = loan.nextDueAt + loan.grace
    const early = await s.mine(lockAt - 1n)
    expect(early.jobs).toBe(0)
    expect(s.desired.filter((d) => d.state.locked)).toEqual([])
    expect(s.agent.state().locked).toBe(false)

    // the first block at due + grace locks the car, and the command comes from that very block
    const locked = s.waitForCar(true)
    const due = await s.mine(lockAt)
    await locked
    const locks = s.desired.filter((d) => d.state.locked)
    expect(locks).toHaveLength(1)
    expect(locks[0]?.blockNumber).toBe(due.number)
    expect(s.agent.state()).toMatchObject({ locked: true, message: LOCK_MESSAGE })
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    // versions 1 and 2 were the warning and the final warning the car must show before it disables
    expect(device).toMatchObject({ desiredVersion: 3, reportedVersion: 3, reported: { locked: true } })

    // more blocks while delinquent do not lock again
    await s.mine()
    expect(s.desired.filter((d) => d.state.locked)).toHaveLength(1)

    // the owner reloads: the wallet pays the overdue installment in that block, and the car unlocks
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    const reload = await s.mine()
    await unlocked
    expect(s.agent.state().locked).toBe(false)
    expect(s.desired.at(-1)).toMatchObject({ blockNumber: reload.number, state: { locked: false } })
    expect((await s.loan()).nextDueAt).toBe(loan.nextDueAt + BigInt(s.car.period))
    expect(s.runs.filter((r) => r.run.status !== 'ok')).toEqual([])
  })
})

describe('a loan paid on time never locks', () => {
  let s: Scenario
  beforeAll(async () => {
    s = await startScenario({})
  })
  afterAll(async () => s?.stop())

  it('runs through four periods, paying each installment before its due date, and at each due + grace the car stays unlocked', async () => {
    for (let i = 0; i < 4; i++) {
      await s.reload(s.car.installment)
      await s.mine()
      const loan = await s.loan()
      // walk to exactly due + grace of the *previous* schedule and beyond: the new deadline is a period later
      await s.mine(loan.nextDueAt - BigInt(s.car.period) + loan.grace)
      await s.mine(loan.nextDueAt - 60n)
      expect(s.agent.state().locked).toBe(false)
    }
    expect(s.desired.filter((d) => d.state.locked)).toEqual([])
    const lockRuns = s.runs.filter((r) => r.run.functionName === 'lockOnMissedPayment')
    expect(lockRuns).toEqual([])
  })
})
