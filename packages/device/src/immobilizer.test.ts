import { describe, expect, it } from 'vitest'
import {
  type ImmobilizerInput,
  type ImmobilizerState,
  initialImmobilizerState,
  stepImmobilizer,
  viewImmobilizer,
} from './immobilizer.js'
import type { ImmobilizerPolicy } from './immobilizerProtocol.js'
import { LOCK_MESSAGE } from './protocol.js'

const day = 86_400
const hour = 3_600
const policy: ImmobilizerPolicy = {
  warningPeriod: 10 * day,
  finalWarning: 2 * day,
  emergencyStarts: 3,
  emergencyDuration: day,
}
// Chain time (seconds) of one missed due date; wall clock (ms) of the car, independent of it.
const dueAt = 1_700_000_000
const lockAt = dueAt + 10 * day
const finalAt = lockAt - 2 * day
const t0 = 1_000_000

type Command = Omit<Extract<ImmobilizerInput, { type: 'command' }>, 'type'>
const warn = (extra: Partial<Command> = {}): ImmobilizerInput => ({
  type: 'command',
  stage: 'warning',
  chainTime: dueAt,
  since: dueAt,
  lockAt,
  policy,
  now: t0,
  ...extra,
})
const finalWarn = (extra: Partial<Command> = {}): ImmobilizerInput =>
  warn({ stage: 'final-warning', chainTime: finalAt, since: finalAt, ...extra })
const disable = (extra: Partial<Command> = {}): ImmobilizerInput => ({
  type: 'command',
  stage: 'disable',
  chainTime: lockAt,
  lockAt,
  policy,
  now: t0,
  ...extra,
})
const unlock = (chainTime = lockAt + day): ImmobilizerInput => ({
  type: 'command',
  stage: 'none',
  chainTime,
  now: t0,
})
const ignition = (on: boolean, now = t0): ImmobilizerInput => ({ type: 'ignition', on, now })
const speed = (kmh: number, now = t0): ImmobilizerInput => ({ type: 'speed', kmh, now })
const code = (now = t0): ImmobilizerInput => ({ type: 'emergency-code', now })
const tick = (now: number): ImmobilizerInput => ({ type: 'tick', now })

/** Runs inputs from `state`, returning the final state and each input's refusal (or undefined). */
function run(inputs: ImmobilizerInput[], state: ImmobilizerState = initialImmobilizerState()) {
  const refusals: (string | undefined)[] = []
  for (const input of inputs) {
    const step = stepImmobilizer(state, input)
    state = step.state
    refusals.push(step.refused)
  }
  return { state, view: viewImmobilizer(state), refusals, last: refusals.at(-1) }
}

/** A parked car that went through both warnings and was disabled at lockAt. */
const disabledParked = () => run([warn(), finalWarn(), disable()]).state

describe('warning stages before disabling', () => {
  it('shows the warning, then the final warning, then disables a parked car at lockAt', () => {
    const warned = run([warn()])
    expect(warned.view).toMatchObject({
      stage: 'warning',
      immobilized: false,
      pendingDisable: false,
      locked: false,
      warning: { final: false, since: dueAt },
      emergencyStartsLeft: 3,
      lockAt,
    })
    expect(warned.view.warning?.message).toContain('overdue')
    const final = run([finalWarn()], warned.state)
    expect(final.view).toMatchObject({ stage: 'final-warning', warning: { final: true, since: finalAt } })
    expect(final.view.warning?.message).toMatch(/^Final warning/)
    const disabled = run([disable()], final.state)
    expect(disabled.last).toBeUndefined()
    expect(disabled.view).toMatchObject({
      stage: 'disable',
      immobilized: true,
      locked: true,
      warning: null,
      message: LOCK_MESSAGE,
      refused: null,
    })
  })

  it('refuses a disable that comes without any warning, and shows the warning instead', () => {
    const { view, last } = run([disable()])
    expect(last).toBe('disable refused: no warning was shown before it')
    expect(view).toMatchObject({
      stage: 'warning',
      immobilized: false,
      pendingDisable: false,
      locked: false,
      warning: { final: false, since: lockAt },
      refused: last,
    })
  })

  it('refuses a disable whose warning was shown for less than warningPeriod (chain time)', () => {
    const late = run([warn({ chainTime: dueAt + day, since: dueAt + day }), finalWarn(), disable()])
    expect(late.last).toBe('disable refused: the warning was shown for 9d 0h of the 10d 0h required')
    expect(late.view).toMatchObject({ immobilized: false, stage: 'final-warning' })
    // one second short is short
    const short = run([warn({ chainTime: dueAt + 1, since: dueAt + 1 }), finalWarn(), disable()])
    expect(short.last).toMatch(/warning was shown for 9d 23h of the 10d 0h required/)
    expect(short.view.immobilized).toBe(false)
  })

  it('refuses a disable without a final warning, starts the final warning then, and accepts one finalWarning later', () => {
    const missing = run([warn(), disable()])
    expect(missing.last).toBe('disable refused: no final warning was shown before it')
    expect(missing.view).toMatchObject({ stage: 'final-warning', warning: { final: true, since: lockAt } })
    const early = run([disable({ chainTime: lockAt + 2 * day - 1 })], missing.state)
    expect(early.last).toMatch(/final warning was shown for 47h 59m of the 48h 0m required/)
    const onTime = run([disable({ chainTime: lockAt + 2 * day })], early.state)
    expect(onTime.last).toBeUndefined()
    expect(onTime.view.immobilized).toBe(true)
  })

  it('refuses a disable whose final warning came less than finalWarning before it', () => {
    const { last, view } = run([
      warn(),
      finalWarn({ chainTime: lockAt - day, since: lockAt - day }),
      disable(),
    ])
    expect(last).toMatch(/final warning was shown for 24h 0m of the 48h 0m required/)
    expect(view.immobilized).toBe(false)
  })

  it('a final warning with no warning before it starts the warning stage too: too short for a disable', () => {
    const { last, view } = run([finalWarn(), disable()])
    expect(last).toMatch(/warning was shown for 48h 0m of the 10d 0h required/)
    expect(view.immobilized).toBe(false)
  })

  it('a final warning saying when the warning stage began counts it for a car that missed the warning itself', () => {
    // offline through the warning, or both stages delivered as one retained state
    const missed = run([finalWarn({ warningSince: dueAt }), disable()])
    expect(missed.last).toBeUndefined()
    expect(missed.view.immobilized).toBe(true)
    // never from later than the final warning itself
    const late = run([finalWarn({ warningSince: finalAt + day }), disable()])
    expect(late.last).toMatch(/warning was shown for 48h 0m of the 10d 0h required/)
    // and a warning the car did see keeps its own start
    const seen = run([
      warn({ chainTime: dueAt + day, since: dueAt + day }),
      finalWarn({ warningSince: dueAt }),
    ])
    expect(seen.state.current?.warningSince).toBe(dueAt + day)
  })

  it('counts a stage from when it began on chain, never later than the block that carried it', () => {
    // issued in the first blocks after their deadlines (12 s and 5 s late): counted from the deadlines
    const jitter = run([
      warn({ chainTime: dueAt + 12, since: dueAt }),
      finalWarn({ chainTime: finalAt + 5, since: finalAt }),
      disable(),
    ])
    expect(jitter.last).toBeUndefined()
    expect(jitter.view.immobilized).toBe(true)
    // a `since` after its own block cannot lengthen the warning: it counts from the block
    const future = run([warn({ chainTime: dueAt + day, since: dueAt + 2 * day })])
    expect(future.view.warning?.since).toBe(dueAt + day)
    // a repeated warning keeps the first start
    const again = run([warn(), warn({ chainTime: dueAt + 3 * day, since: dueAt + 3 * day })])
    expect(again.view.warning?.since).toBe(dueAt)
  })

  it('refuses a disable when no policy is known (a plain lock), whatever came before', () => {
    const { last, view } = run([disable({ policy: undefined })])
    expect(last).toBe('disable refused: no immobilizer policy came with it or with a warning')
    expect(view.immobilized).toBe(false)
    // a policy that came with the warnings is enough
    const known = run([warn(), finalWarn(), disable({ policy: undefined })])
    expect(known.view.immobilized).toBe(true)
  })

  it('never lets a later command weaken the policy of a delinquency', () => {
    const weaker = { ...policy, warningPeriod: 2 * day, finalWarning: 2 * day }
    const { last, view } = run([
      warn(),
      finalWarn({ chainTime: dueAt + day, since: dueAt + day }),
      disable({ chainTime: dueAt + 3 * day, policy: weaker }),
    ])
    expect(last).toMatch(/warning was shown for 3d 0h of the 10d 0h required/)
    expect(view).toMatchObject({ immobilized: false, emergencyStartsLeft: 3 })
    // more emergency restarts favour the borrower: taken
    const generous = run([warn({ policy: { ...policy, emergencyStarts: 5 } }), warn()])
    expect(generous.view.emergencyStartsLeft).toBe(5)
  })
})

describe('never disabled while moving or with the ignition on', () => {
  it.each([
    { ignitionOn: false, kmh: 0, armed: true },
    { ignitionOn: true, kmh: 0, armed: false },
    { ignitionOn: true, kmh: 80, armed: false },
    { ignitionOn: false, kmh: 5, armed: false },
  ])(
    'ignition on: $ignitionOn, speed $kmh km/h when the disable arrives: armed at once = $armed',
    ({ ignitionOn, kmh, armed }) => {
      const { view, last } = run([warn(), finalWarn(), ignition(ignitionOn), speed(kmh), disable()])
      expect(last).toBeUndefined()
      expect(view).toMatchObject({
        stage: 'disable',
        immobilized: armed,
        pendingDisable: !armed,
        locked: armed,
      })
    },
  )

  it('a car driving when the disable arrives keeps running; it arms only at ignition-off standing still', () => {
    let r = run([warn(), finalWarn(), ignition(true), speed(100), disable()])
    expect(r.view).toMatchObject({ immobilized: false, pendingDisable: true, ignition: true })
    r = run([speed(0)], r.state) // stopped at a light, engine running
    expect(r.view).toMatchObject({ immobilized: false, pendingDisable: true })
    r = run([speed(30), ignition(false)], r.state) // ignition off while still rolling
    expect(r.view).toMatchObject({ immobilized: false, pendingDisable: true })
    r = run([speed(0)], r.state)
    expect(r.view).toMatchObject({ immobilized: true, pendingDisable: false })
    // and only then is the next start prevented
    r = run([ignition(true)], r.state)
    expect(r.last).toBe('start prevented: the vehicle is disabled for a missed payment')
    expect(r.view.ignition).toBe(false)
  })

  it('before its disable takes effect, a car restarts freely', () => {
    const r = run([warn(), finalWarn(), ignition(true), speed(50), disable(), speed(0), ignition(true)])
    expect(r.refusals.every((x) => x === undefined)).toBe(true)
    expect(r.view).toMatchObject({ ignition: true, pendingDisable: true })
  })

  it('keeps its invariants through 20,000 random inputs: armed only with the ignition off, armed only from standstill', () => {
    // A seeded generator: the same sequence on every run, so a failure can be replayed.
    let seed = 0x2983_37
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    let state = initialImmobilizerState()
    let now = t0
    let chainTime = dueAt
    let armedTransitions = 0
    for (let i = 0; i < 20_000; i++) {
      now += Math.floor(random() * 6 * hour * 1000)
      chainTime += Math.floor(random() * day)
      const stage =
        (['none', 'warning', 'final-warning', 'disable'] as const)[Math.floor(random() * 4)] ?? 'none'
      const inputs: ImmobilizerInput[] = [
        ignition(random() < 0.5, now),
        speed(random() < 0.5 ? 0 : Math.floor(random() * 120), now),
        code(now),
        tick(now),
        {
          type: 'command',
          stage,
          chainTime,
          since: chainTime - Math.floor(random() * day),
          lockAt,
          policy,
          now,
        },
      ]
      const input = inputs[Math.floor(random() * inputs.length)] as ImmobilizerInput
      const before = state
      state = stepImmobilizer(state, input).state
      if (state.disable === 'armed') expect(state.ignition).toBe(false)
      if (state.disable === 'armed' && before.disable !== 'armed') {
        armedTransitions++
        expect(before.ignition === false || input.type === 'ignition').toBe(true)
        expect(state.speedKmh).toBe(0)
      }
      const used = state.current?.emergencyUsed ?? 0
      expect(used).toBeLessThanOrEqual(policy.emergencyStarts)
      if (state.stage === 'disable' && before.stage !== 'disable') {
        const d = state.current
        expect(d?.warningSince).not.toBeNull()
        expect(d?.finalWarningSince).not.toBeNull()
        if (input.type === 'command') {
          expect(input.chainTime - (d?.warningSince ?? 0)).toBeGreaterThanOrEqual(policy.warningPeriod)
          expect(input.chainTime - (d?.finalWarningSince ?? 0)).toBeGreaterThanOrEqual(policy.finalWarning)
        }
      }
    }
    // the walk did reach the interesting states
    expect(armedTransitions).toBeGreaterThan(50)
  })
})

describe('emergency restarts', () => {
  it('each code allows starts for emergencyDuration (wall clock), emergencyStarts times, and no more', () => {
    let state = disabledParked()
    let now = t0
    for (let used = 1; used <= policy.emergencyStarts; used++) {
      let r = run([code(now)], state)
      expect(r.last).toBeUndefined()
      const until = now + policy.emergencyDuration * 1000
      expect(r.view).toMatchObject({
        immobilized: false,
        locked: true,
        emergencyUntil: until,
        emergencyStartsLeft: policy.emergencyStarts - used,
      })
      // the car starts and is driven, and restarts within the window
      r = run([ignition(true, now + 1000), ignition(false, now + 2000), ignition(true, until - 1)], r.state)
      expect(r.refusals).toEqual([undefined, undefined, undefined])
      // the window ends while driving: the car keeps running, the disable waits for the ignition-off
      r = run([tick(until)], r.state)
      expect(r.view).toMatchObject({ immobilized: false, pendingDisable: true, emergencyUntil: null })
      r = run([ignition(false, until + 60_000)], r.state)
      expect(r.view.immobilized).toBe(true)
      r = run([ignition(true, until + 120_000)], r.state)
      expect(r.last).toMatch(/start prevented/)
      state = r.state
      now = until + 3_600_000
    }
    const spent = run([code(now)], state)
    expect(spent.last).toBe('emergency code refused: all 3 emergency restarts of this delinquency are used')
    expect(spent.view).toMatchObject({ immobilized: true, emergencyStartsLeft: 0 })
  })

  it('an emergency restart ending with the car parked re-arms at once; a window runs on the wall clock, not chain time', () => {
    const started = run([code(t0)], disabledParked())
    expect(run([tick(t0 + day * 1000 - 1)], started.state).view.immobilized).toBe(false)
    expect(run([tick(t0 + day * 1000)], started.state).view.immobilized).toBe(true)
    // commands carrying later chain time do not end it early
    const repeated = run([disable({ chainTime: lockAt + 5 * day, now: t0 + 1000 })], started.state)
    expect(repeated.view).toMatchObject({ immobilized: false, locked: true, emergencyUntil: t0 + day * 1000 })
  })

  it('refuses a code when the car is not disabled, or while a restart is running', () => {
    expect(run([code()]).last).toBe('emergency code refused: the vehicle is not disabled')
    expect(run([warn(), finalWarn(), ignition(true), disable(), code()]).last).toBe(
      'emergency code refused: the vehicle is not disabled',
    )
    const running = run([code(t0)], disabledParked())
    const again = run([code(t0 + 1000)], running.state)
    expect(again.last).toBe('emergency code refused: an emergency restart is already running')
    expect(again.view.emergencyStartsLeft).toBe(2)
  })

  it('honours the loan’s own count and duration', () => {
    const one = { ...policy, emergencyStarts: 1, emergencyDuration: 2 * day }
    const r = run([warn({ policy: one }), finalWarn({ policy: one }), disable({ policy: one }), code(t0)])
    expect(r.view).toMatchObject({ emergencyUntil: t0 + 2 * day * 1000, emergencyStartsLeft: 0 })
    const later = run([tick(t0 + 2 * day * 1000), code(t0 + 2 * day * 1000 + 1)], r.state)
    expect(later.last).toMatch(/all 1 emergency restarts/)
  })
})

describe('unlock', () => {
  it('clears everything: the disable, the warning, a running emergency restart, a refusal', () => {
    const disabled = run([code(t0)], disabledParked()).state
    const cleared = run([unlock()], disabled)
    expect(cleared.view).toMatchObject({
      stage: 'none',
      immobilized: false,
      pendingDisable: false,
      locked: false,
      warning: null,
      message: null,
      emergencyStartsLeft: null,
      emergencyUntil: null,
      lockAt: null,
      refused: null,
    })
    expect(run([ignition(true)], cleared.state).last).toBeUndefined()
    const refused = run([disable(), unlock()])
    expect(refused.view).toMatchObject({ stage: 'none', refused: null, warning: null })
    // a pending disable is dropped too: the ignition-off no longer arms anything
    const pending = run([warn(), finalWarn(), ignition(true), disable(), unlock(), ignition(false)])
    expect(pending.view).toMatchObject({ immobilized: false, pendingDisable: false })
  })

  it('the next missed due date starts over: new warnings needed, all emergency restarts again', () => {
    const used = run([code(t0), unlock()], disabledParked()).state
    const nextLockAt = lockAt + 30 * day
    const next = run([disable({ chainTime: nextLockAt, lockAt: nextLockAt })], used)
    expect(next.last).toBe('disable refused: no warning was shown before it')
    const nextDue = nextLockAt - 10 * day
    const warned = run(
      [
        warn({ chainTime: nextDue, since: nextDue, lockAt: nextLockAt }),
        finalWarn({ chainTime: nextLockAt - 2 * day, since: nextLockAt - 2 * day, lockAt: nextLockAt }),
        disable({ chainTime: nextLockAt, lockAt: nextLockAt }),
      ],
      used,
    )
    expect(warned.view).toMatchObject({ immobilized: true, emergencyStartsLeft: 3 })
  })

  it('a disable for the same due date after an unlock (its payment reorged out) counts the warnings already shown', () => {
    const unlocked = run([code(t0), tick(t0 + day * 1000), unlock()], disabledParked()).state
    const again = run([disable({ chainTime: lockAt + 2 * day })], unlocked)
    expect(again.last).toBeUndefined()
    // the same delinquency: the restart already used stays used
    expect(again.view).toMatchObject({ immobilized: true, emergencyStartsLeft: 2 })
  })

  it('a warning while disabled stands the car down (the block that disabled it was reorged out)', () => {
    const r = run([finalWarn({ chainTime: lockAt - 100 })], disabledParked())
    expect(r.view).toMatchObject({ stage: 'final-warning', immobilized: false, locked: false })
    // its history holds: the chain reaching lockAt again disables it again
    expect(run([disable()], r.state).view.immobilized).toBe(true)
  })
})
