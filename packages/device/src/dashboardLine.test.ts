import { describe, expect, it } from 'vitest'
import type { DeviceState } from './createDeviceAgent.js'
import { dashboardLine } from './dashboardLine.js'
import { initialImmobilizerState, stepImmobilizer, viewImmobilizer } from './immobilizer.js'
import { warningMessage } from './immobilizerMessages.js'
import { LOCK_MESSAGE } from './protocol.js'

const day = 86_400
const lockAt = 1_800_000_000
const policy = { warningPeriod: 10 * day, finalWarning: 2 * day, emergencyStarts: 3, emergencyDuration: day }
const name = 'car 0x7099…79c8'

/** The dashboard line after each input, as the simulated car would print it. */
function lines(inputs: Parameters<typeof stepImmobilizer>[1][]) {
  let state = initialImmobilizerState()
  return inputs.map((input) => {
    state = stepImmobilizer(state, input).state
    const view = viewImmobilizer(state)
    const device: DeviceState = {
      locked: view.locked,
      ...(view.message === null ? {} : { message: view.message }),
      version: 1,
      commandId: 'c',
      immobilizer: view,
    }
    return dashboardLine(name, device)
  })
}

const command = (stage: 'none' | 'warning' | 'final-warning' | 'disable', chainTime: number) =>
  ({ type: 'command', stage, chainTime, since: chainTime, lockAt, policy, now: 0 }) as const

describe('dashboardLine', () => {
  it('shows the warning, the final warning, the pending disable, the lock, an emergency restart and the unlock', () => {
    expect(
      lines([
        command('warning', lockAt - 10 * day),
        command('final-warning', lockAt - 2 * day),
        { type: 'ignition', on: true, now: 0 },
        command('disable', lockAt),
        { type: 'ignition', on: false, now: 0 },
        { type: 'emergency-code', now: Date.UTC(2027, 0, 15, 8, 30) },
        command('none', lockAt + day),
      ]),
    ).toEqual([
      `⚠️ ${name}: ${warningMessage(lockAt, false)}`,
      `⚠️ ${name}: ${warningMessage(lockAt, true)}`,
      `⚠️ ${name}: ${warningMessage(lockAt, true)}`,
      `⏳ ${name}: disabled at the next ignition-off (never while driving): ${LOCK_MESSAGE}`,
      `🔒 ${name}: ${LOCK_MESSAGE}`,
      `🚨 ${name}: emergency restart until 2027-01-16 08:30 UTC (2 left)`,
      `🔓 ${name}: unlocked`,
    ])
  })

  it('a plain device shows locked or unlocked', () => {
    const plain = { version: 1, commandId: 'c' }
    expect(dashboardLine(name, { ...plain, locked: true })).toBe(`🔒 ${name}: locked`)
    expect(dashboardLine(name, { ...plain, locked: false })).toBe(`🔓 ${name}: unlocked`)
  })
})
