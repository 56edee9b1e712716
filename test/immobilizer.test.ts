import { join } from 'node:path'
import { carLoanAbi } from '@pbj/contracts'
import { LOCK_MESSAGE } from '@pbj/device'
import { afterEach, describe, expect, it } from 'vitest'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { waitFor } from '#pbj/internal/waitFor.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

type Reported = EngineEvents['device:reported']

/** Resolves with the first report from the car (from now on) whose state matches. */
const nextReport = (s: Scenario, match: (state: Reported['state']) => boolean, what: string) =>
  waitFor(s.engine.events, 'device:reported', (r) => match(r.state), 5_000, what)

/** Pays installment 1 on time; returns the next due date and lock time (bigints, chain time). */
async function payFirstInstallment(s: Scenario) {
  await s.reload(s.car.installment)
  await s.mine()
  const loan = await s.loan()
  return { dueAt: loan.nextDueAt, lockAt: loan.nextDueAt + loan.grace }
}

const policyOf = (s: Scenario) =>
  s.pub.readContract({
    address: s.stack.deployment.contracts.CarLoan,
    abi: carLoanAbi,
    functionName: 'policyOf',
    args: [s.car.loanId],
  })

describe('the immobilizer on the real stack (Anvil, broker, engine, signed commands, the car agent)', () => {
  let s: Scenario
  afterEach(async () => s?.stop())

  it('warns at the missed due date, finally warns 48 h before lockAt, and disables in the first block at lockAt', async () => {
    s = await startScenario({})
    const { dueAt, lockAt } = await payFirstInstallment(s)
    // the policy the car enforces is the loan's own, on chain, readable by the borrower
    const policy = await policyOf(s)
    expect(policy).toEqual({
      warningPeriod: BigInt(s.car.grace),
      finalWarning: 48n * 3_600n,
      emergencyStarts: 3,
      emergencyDuration: 24n * 3_600n,
    })
    const finalAt = lockAt - policy.finalWarning
    const stages: (string | undefined)[] = []
    s.engine.events.on('device:reported', (r) => stages.push(r.state.immobilizer?.stage))

    const locked = s.waitForCar(true)
    const lock = await s.mine(lockAt) // mines the blocks at dueAt and finalAt first
    await locked

    // one command per stage, each from the first block at its chain time, in order
    const commands = await Promise.all(
      s.desired.map(async (d) => ({
        stage: d.state.immobilizer?.stage,
        locked: d.state.locked,
        at: (await s.pub.getBlock({ blockNumber: d.blockNumber })).timestamp,
      })),
    )
    expect(commands).toEqual([
      { stage: 'warning', locked: false, at: dueAt },
      { stage: 'final-warning', locked: false, at: finalAt },
      { stage: 'disable', locked: true, at: lockAt },
    ])
    expect(s.desired.at(-1)?.blockNumber).toBe(lock.number)
    expect(s.desired.at(-1)?.state.immobilizer).toEqual({
      stage: 'disable',
      lockAt: Number(lockAt),
      policy: {
        warningPeriod: s.car.grace,
        finalWarning: 48 * 3_600,
        emergencyStarts: 3,
        emergencyDuration: 24 * 3_600,
      },
    })
    // the car showed each stage, in that order, and refused nothing (its report on connect, stage 'none',
    // may come before or after this listener was attached)
    const shown = stages.filter((x, i) => x !== stages[i - 1])
    expect(shown.slice(shown[0] === 'none' ? 1 : 0)).toEqual(['warning', 'final-warning', 'disable'])
    expect(s.rejected).toEqual([])
    expect(s.agent.state()).toMatchObject({
      locked: true,
      message: LOCK_MESSAGE,
      immobilizer: { stage: 'disable', immobilized: true, emergencyStartsLeft: 3, refused: null },
    })
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({
      desiredVersion: 3,
      reportedVersion: 3,
      reported: { locked: true, immobilizer: { stage: 'disable', immobilized: true } },
    })
  })

  it('shows the warning text with the lock time, and a reload during the warning clears it', async () => {
    s = await startScenario({})
    const { dueAt, lockAt } = await payFirstInstallment(s)
    const warned = nextReport(s, (r) => r.immobilizer?.stage === 'warning', 'the warning')
    await s.mine(dueAt)
    await warned
    const when = new Date(Number(lockAt) * 1000).toISOString().slice(0, 16).replace('T', ' ')
    expect(s.agent.state().immobilizer?.warning).toEqual({
      final: false,
      since: Number(dueAt),
      message: `Your car payment is overdue. Please reload your car's wallet: from ${when} UTC the vehicle can be disabled.`,
    })
    // paid: the warning goes, and nothing else happens at the old final-warning time and lockAt
    const cleared = nextReport(s, (r) => r.immobilizer?.stage === 'none', 'the warning cleared')
    await s.reload(s.car.installment)
    await s.mine()
    await cleared
    await s.mine(lockAt + 1n)
    expect(s.agent.state()).toMatchObject({ locked: false, immobilizer: { stage: 'none', warning: null } })
    expect(s.desired.map((d) => [d.state.immobilizer?.stage ?? 'none', d.state.locked])).toEqual([
      ['warning', false],
      ['none', false],
    ])
  })

  it('a car that was never warned refuses the disable, says why, and shows the warning instead', async () => {
    // only the lock function: the warnings never go out (a buggy function set, a servicer's system error);
    // and no chain-level reconciliation, whose scheduled re-checks would send the warnings in its place
    const lockOnly = await loadFunction(join(demoProjectDir, 'functions', 'lockOnMissedPayment.ts'))
    const { desiredFromChain: _, ...unreconciled } = immobilizerClass({ contract: 'CarLoan' })
    s = await startScenario({ functions: [lockOnly], deviceClass: unreconciled })
    const { lockAt } = await payFirstInstallment(s)
    const refused = waitFor(s.engine.events, 'device:reported', (r) => r.version === 1, 5_000, 'the answer')
    await s.mine(lockAt)
    const answer = await refused
    expect(s.desired.map((d) => d.state.locked)).toEqual([true])
    expect(answer.state).toMatchObject({
      locked: false,
      immobilizer: {
        stage: 'warning',
        immobilized: false,
        refused: 'disable refused: no warning was shown before it',
      },
    })
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({ desiredVersion: 1, reportedVersion: 1, reported: { locked: false } })
    expect(s.agent.ignition(true).ok).toBe(true)
  })

  it('a moving car is not disabled until the ignition is off; then its next start is prevented', async () => {
    s = await startScenario({})
    const { lockAt } = await payFirstInstallment(s)
    await s.mine(lockAt - 1n) // through the warning and the final warning
    expect(s.agent.state().immobilizer?.stage).toBe('final-warning')

    // on the road at 90 km/h when the chain reaches lockAt
    expect(s.agent.ignition(true).ok).toBe(true)
    s.agent.setSpeed(90)
    const pending = nextReport(s, (r) => r.immobilizer?.pendingDisable === true, 'the pending disable')
    const due = await s.mine(lockAt)
    await pending
    expect(s.desired.filter((d) => d.state.locked)).toMatchObject([{ blockNumber: due.number }])
    expect(s.agent.state()).toMatchObject({
      locked: false,
      immobilizer: {
        stage: 'disable',
        pendingDisable: true,
        immobilized: false,
        ignition: true,
        speedKmh: 90,
      },
    })

    // still driving through more blocks, then stopped at a light with the engine running: never disabled
    await s.mine()
    await s.mine()
    s.agent.setSpeed(0)
    expect(s.agent.state()).toMatchObject({ locked: false, immobilizer: { pendingDisable: true } })
    expect((await s.engine.store.getDevice(s.car.deviceId.toLowerCase()))?.reported).toMatchObject({
      locked: false,
      immobilizer: { pendingDisable: true, immobilized: false },
    })

    // parked, ignition off: now the disable takes effect, reported under the same version
    const armed = nextReport(s, (r) => r.locked, 'the disable taking effect')
    expect(s.agent.ignition(false).ok).toBe(true)
    await armed
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({
      desiredVersion: 3,
      reportedVersion: 3,
      reported: {
        locked: true,
        message: LOCK_MESSAGE,
        immobilizer: { immobilized: true, pendingDisable: false },
      },
    })
    expect(s.agent.ignition(true)).toMatchObject({
      ok: false,
      refused: 'start prevented: the vehicle is disabled for a missed payment',
      view: { ignition: false, immobilized: true },
    })
  })

  it('emergency codes allow starts for emergencyDuration, emergencyStarts times and no more; a reload clears everything', async () => {
    // The car's wall clock, moved by the test: a restart lasts 24 real hours.
    let wall = Date.now()
    s = await startScenario({ carClock: () => wall })
    const { lockAt } = await payFirstInstallment(s)
    const locked = s.waitForCar(true)
    await s.mine(lockAt)
    await locked
    const policy = await policyOf(s)
    const duration = Number(policy.emergencyDuration) * 1000

    expect(s.agent.enterEmergencyCode('abc')).toMatchObject({
      ok: false,
      refused: 'emergency code refused: wrong code',
      view: { emergencyStartsLeft: policy.emergencyStarts },
    })
    for (let used = 1; used <= policy.emergencyStarts; used++) {
      const left = policy.emergencyStarts - used
      const seen = nextReport(s, (r) => r.immobilizer?.emergencyStartsLeft === left, `${left} restarts left`)
      expect(s.agent.enterEmergencyCode('2983')).toMatchObject({
        ok: true,
        view: {
          immobilized: false,
          locked: true,
          emergencyUntil: wall + duration,
          emergencyStartsLeft: left,
        },
      })
      await seen
      // it starts, and restarts, for the whole window
      expect(s.agent.ignition(true).ok).toBe(true)
      wall += duration - 1
      expect(s.agent.ignition(false).ok).toBe(true)
      expect(s.agent.ignition(true).ok).toBe(true)
      // the window ends while the car runs: it keeps running, and is disabled at the ignition-off
      wall += 1
      expect(s.agent.setSpeed(0).view).toMatchObject({ immobilized: false, pendingDisable: true })
      expect(s.agent.ignition(false).view).toMatchObject({ immobilized: true, emergencyUntil: null })
      expect(s.agent.ignition(true).ok).toBe(false)
      wall += 3_600_000
    }
    expect(s.agent.enterEmergencyCode('2983')).toMatchObject({
      ok: false,
      refused: `emergency code refused: all ${policy.emergencyStarts} emergency restarts of this delinquency are used`,
      view: { immobilized: true, emergencyStartsLeft: 0 },
    })
    // what the engine knows, from the car's reports
    await expect
      .poll(async () => (await s.engine.store.getDevice(s.car.deviceId.toLowerCase()))?.reported)
      .toMatchObject({
        locked: true,
        immobilizer: { immobilized: true, emergencyStartsLeft: 0, emergencyUntil: null },
      })

    // the owner reloads: unlocked, warnings and restarts cleared, the car starts
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    await s.mine()
    await unlocked
    expect(s.agent.state()).toMatchObject({
      locked: false,
      immobilizer: { stage: 'none', immobilized: false, emergencyStartsLeft: null, warning: null },
    })
    expect(s.agent.ignition(true).ok).toBe(true)
  })
})
