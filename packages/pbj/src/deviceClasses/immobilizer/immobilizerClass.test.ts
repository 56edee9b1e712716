import { LOCK_MESSAGE } from '@pbj/device'
import { describe, expect, it } from 'vitest'
import type { DeviceAction } from '../../actions/devices/deviceClass.js'
import type { DeviceDesired } from '../../core/device.js'
import { desiredFromStatus, immobilizerMeaning } from './desiredFromStatus.js'
import { judge } from './judge.js'
import { lockMessage } from './messages.js'
import { toImmobilizerDesired } from './toImmobilizerDesired.js'

const policy = {
  warningPeriod: 864_000n,
  finalWarning: 172_800n,
  emergencyStarts: 3,
  emergencyDuration: 86_400n,
}
const lockAt = 1_800_000_000n
const status = (loanId: bigint, stage: number) =>
  [loanId, stage, lockAt - 864_000n, lockAt, lockAt - 172_800n, policy] as const
const jsonPolicy = {
  warningPeriod: 864_000,
  finalWarning: 172_800,
  emergencyStarts: 3,
  emergencyDuration: 86_400,
}
const desiredOf = (action: DeviceAction, final = false): DeviceDesired =>
  action === 'lock'
    ? { locked: true, immobilizer: { stage: 'disable', lockAt: Number(lockAt), policy: jsonPolicy } }
    : action === 'warn'
      ? {
          locked: false,
          immobilizer: {
            stage: final ? 'final-warning' : 'warning',
            lockAt: Number(lockAt),
            policy: jsonPolicy,
          },
        }
      : { locked: false, reason: 'paid' }
const verdict = (action: DeviceAction, loanId: bigint, stage: number, final = false) => {
  const desired = desiredOf(action, final)
  const v = judge({ deviceId: '0xcar', action, desired }, status(loanId, stage), 'CarLoan')
  return v.ok ? 'ok' : v.reason
}

describe('the immobilizer guard’s rules', () => {
  it.each([
    // action, loan, stage (0 current, 1 warning, 2 final warning, 3 delinquent), final?, verdict
    ['lock', 1n, 3, false, 'ok'],
    ['lock', 1n, 2, false, 'not-delinquent'],
    ['lock', 1n, 0, false, 'not-delinquent'],
    ['lock', 0n, 0, false, 'no-active-loan'],
    ['unlock', 1n, 0, false, 'ok'],
    ['unlock', 1n, 2, false, 'ok'],
    ['unlock', 0n, 0, false, 'ok'],
    ['unlock', 1n, 3, false, 'delinquent'],
    ['warn', 1n, 1, false, 'ok'],
    ['warn', 1n, 2, false, 'ok'],
    ['warn', 1n, 2, true, 'ok'],
    ['warn', 1n, 1, true, 'not-final-warning'],
    ['warn', 1n, 0, false, 'no-missed-due-date'],
    ['warn', 1n, 3, false, 'ok'],
    ['warn', 1n, 3, true, 'ok'],
    ['warn', 0n, 0, false, 'no-active-loan'],
  ] as const)(
    '%s of a car with loan %s at stage %s (final %s): %s',
    (action, loanId, stage, final, expected) => {
      expect(verdict(action, loanId, stage, final)).toBe(expected)
    },
  )

  it('refuses a warning in place of a lock while the loan is delinquent', () => {
    const desired = desiredOf('warn', true)
    const command = { deviceId: '0xcar', action: 'warn' as const, desired, current: desiredOf('lock') }
    expect(judge(command, status(1n, 3), 'CarLoan')).toMatchObject({ ok: false, reason: 'delinquent' })
    expect(judge(command, status(1n, 2), 'CarLoan')).toMatchObject({ ok: true })
  })

  it('refuses a lock or warning whose lockAt or policy is not the loan’s', () => {
    const check = (desired: DeviceDesired, stage: number) =>
      judge(
        { deviceId: '0xcar', action: desired.locked ? 'lock' : 'warn', desired },
        status(1n, stage),
        'CarLoan',
      )
    expect(
      check(
        { locked: true, immobilizer: { stage: 'disable', lockAt: Number(lockAt) - 1, policy: jsonPolicy } },
        3,
      ),
    ).toMatchObject({ ok: false, reason: 'terms-mismatch' })
    expect(
      check(
        {
          locked: false,
          immobilizer: {
            stage: 'warning',
            lockAt: Number(lockAt),
            policy: { ...jsonPolicy, emergencyStarts: 0 },
          },
        },
        1,
      ),
    ).toMatchObject({ ok: false, reason: 'terms-mismatch' })
  })
})

describe('the immobilizer’s desired states', () => {
  const terms = { lockAt, policy }

  it('fills in the reason and lock message a function left out, and the stage the car checks', () => {
    expect(toImmobilizerDesired({ action: 'lock', method: 'devices.lock', options: terms })).toEqual({
      locked: true,
      reason: 'missed-payment',
      message: LOCK_MESSAGE,
      immobilizer: { stage: 'disable', lockAt: Number(lockAt), policy: jsonPolicy },
    })
    expect(toImmobilizerDesired({ action: 'unlock', method: 'devices.unlock', options: {} })).toEqual({
      locked: false,
      reason: 'paid',
    })
    const since = 1_700_000_000n
    expect(
      toImmobilizerDesired({
        action: 'warn',
        method: 'devices.warn',
        options: { ...terms, final: true, since, warningSince: since - 1n, message: 'Pay today' },
      }),
    ).toEqual({
      locked: false,
      reason: 'final-warning',
      message: 'Pay today',
      immobilizer: {
        stage: 'final-warning',
        since: Number(since),
        warningSince: Number(since) - 1,
        lockAt: Number(lockAt),
        policy: jsonPolicy,
      },
    })
  })

  it('keeps the default lock message the same text as the device package’s', () => {
    expect(lockMessage).toBe(LOCK_MESSAGE)
  })

  it('refuses terms the car cannot check, naming the call and the field', () => {
    expect(() =>
      toImmobilizerDesired({ action: 'warn', method: 'devices.warn', options: { lockAt: -1n, policy } }),
    ).toThrow('ctx.devices.warn: lockAt must be a non-negative whole number of seconds; got -1')
    expect(() =>
      toImmobilizerDesired({ action: 'lock', method: 'devices.lock', options: { lockAt } }),
    ).toThrow("ctx.devices.lock: policy must be the loan's immobilizer policy")
  })
})

describe('what the chain says a car should be (reconciliation)', () => {
  it.each([
    // loan, stage (0 current, 1 warning, 2 final warning, 3 delinquent), action, meaning
    [0n, 0, 'unlock', 'unlocked'],
    [1n, 0, 'unlock', 'unlocked'],
    [1n, 1, 'warn', 'warning'],
    [1n, 2, 'warn', 'final-warning'],
    [1n, 3, 'lock', 'locked'],
  ] as const)('loan %s at stage %s: %s (%s), which the guard allows', (loanId, stage, action, meaning) => {
    const request = desiredFromStatus(status(loanId, stage))
    expect(request.action).toBe(action)
    const desired = toImmobilizerDesired(request)
    expect(immobilizerMeaning(desired)).toBe(meaning)
    // the state reconciliation sends must pass the class's own guard, with the stored state it replaces
    for (const current of [null, desiredOf('unlock'), desiredOf('lock'), desiredOf('warn')]) {
      expect(
        judge({ deviceId: '0xcar', action, desired, current }, status(loanId, stage), 'CarLoan'),
      ).toEqual({
        ok: true,
      })
    }
  })

  it('gives a lock the standard message and the loan’s terms, and warnings the times the car counts from', () => {
    const [, , nextDueAt, , finalWarningAt] = status(1n, 2)
    expect(toImmobilizerDesired(desiredFromStatus(status(1n, 3)))).toEqual({
      locked: true,
      reason: 'missed-payment',
      message: lockMessage,
      immobilizer: { stage: 'disable', lockAt: Number(lockAt), policy: jsonPolicy },
    })
    expect(toImmobilizerDesired(desiredFromStatus(status(1n, 2))).immobilizer).toEqual({
      stage: 'final-warning',
      since: Number(finalWarningAt),
      warningSince: Number(nextDueAt),
      lockAt: Number(lockAt),
      policy: jsonPolicy,
    })
    expect(toImmobilizerDesired(desiredFromStatus(status(1n, 1))).immobilizer).toMatchObject({
      stage: 'warning',
      since: Number(nextDueAt),
    })
  })

  it('says when the answer changes by itself: the next of the due date, finalWarningAt, lockAt', () => {
    const [, , nextDueAt, , finalWarningAt] = status(1n, 0)
    expect(desiredFromStatus(status(0n, 0)).changesAt).toBeUndefined()
    expect(desiredFromStatus(status(1n, 0)).changesAt).toBe(nextDueAt)
    expect(desiredFromStatus(status(1n, 1)).changesAt).toBe(finalWarningAt)
    expect(desiredFromStatus(status(1n, 2)).changesAt).toBe(lockAt)
    // delinquent: only a payment (a transaction, an event) changes it
    expect(desiredFromStatus(status(1n, 3)).changesAt).toBeUndefined()
  })

  it('compares states by meaning: reasons, messages and versions do not count', () => {
    expect(immobilizerMeaning({ locked: false, reason: 'reorg' })).toBe('unlocked')
    expect(immobilizerMeaning({ locked: false, immobilizer: { stage: 'none' } })).toBe('unlocked')
    expect(immobilizerMeaning({ locked: true, message: 'Pay', immobilizer: { stage: 'disable' } })).toBe(
      'locked',
    )
    expect(immobilizerMeaning(desiredOf('warn', true))).toBe('final-warning')
  })
})
