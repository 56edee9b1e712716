import { describe, expect, it } from 'vitest'
import { actionOf, type DeviceAction } from '../actions/devices/deviceClass.js'
import type { DeviceDesired } from '../core/device.js'
import { judge } from './immobilizerClass.js'

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
  expect(actionOf(desired)).toBe(action)
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
      judge({ deviceId: '0xcar', action: actionOf(desired), desired }, status(1n, stage), 'CarLoan')
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
