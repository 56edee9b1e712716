import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyAsIs, createCarImmobilizer } from './createCarImmobilizer.js'
import type { ImmobilizerPolicy } from './immobilizerProtocol.js'
import { LOCK_MESSAGE } from './protocol.js'

const day = 86_400
const lockAt = 1_800_000_000
const dueAt = lockAt - 10 * day
const finalAt = lockAt - 2 * day
const policy: ImmobilizerPolicy = {
  warningPeriod: 10 * day,
  finalWarning: 2 * day,
  emergencyStarts: 2,
  emergencyDuration: day,
}
const warning = { locked: false, immobilizer: { stage: 'warning' as const, since: dueAt, lockAt, policy } }
const finalWarning = {
  locked: false,
  immobilizer: { stage: 'final-warning' as const, since: finalAt, lockAt, policy },
}
const disable = {
  locked: true,
  message: LOCK_MESSAGE,
  immobilizer: { stage: 'disable' as const, lockAt, policy },
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbj-immobilizer-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('createCarImmobilizer', () => {
  it('lets only the signed `locked` disable the car: unsigned details cannot turn an unlock into a disable', async () => {
    const car = await createCarImmobilizer()
    car.apply(warning, dueAt)
    car.apply(finalWarning, finalAt)
    const forged = { locked: false, immobilizer: { stage: 'disable' as const, lockAt, policy } }
    expect(car.apply(forged, lockAt)).toEqual({ locked: false })
    expect(car.view()).toMatchObject({ stage: 'none', immobilized: false })
    await car.close()
  })

  it('applies the warnings and the disable, and reports them', async () => {
    const car = await createCarImmobilizer()
    expect(car.apply(warning, dueAt)).toMatchObject({
      locked: false,
      message: expect.stringContaining('overdue'),
    })
    expect(car.apply(finalWarning, finalAt).message).toMatch(/^Final warning/)
    expect(car.apply(disable, lockAt)).toEqual({ locked: true, message: LOCK_MESSAGE })
    expect(car.report()).toEqual({
      stage: 'disable',
      immobilized: true,
      pendingDisable: false,
      emergencyStartsLeft: 2,
      emergencyUntil: null,
      lockAt,
    })
    await car.close()
  })

  it('refuses a disable without warnings and says why in its result and its report', async () => {
    const car = await createCarImmobilizer()
    const result = car.apply(disable, lockAt)
    expect(result).toMatchObject({
      locked: false,
      refused: 'disable refused: no warning was shown before it',
    })
    expect(car.report()).toMatchObject({ stage: 'warning', refused: result.refused })
    await car.close()
  })

  it('remembers the warnings shown and the restarts used across a reboot (its state file)', async () => {
    const stateFile = join(dir, 'reboot.json')
    const first = await createCarImmobilizer({ stateFile })
    first.apply(warning, dueAt)
    first.apply(finalWarning, finalAt)
    await first.close()
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({ stage: 'final-warning' })
    const second = await createCarImmobilizer({ stateFile })
    expect(second.apply(disable, lockAt)).toEqual({ locked: true, message: LOCK_MESSAGE })
    expect(second.enterEmergencyCode('1234').ok).toBe(true)
    await second.close()
    const third = await createCarImmobilizer({ stateFile })
    expect(third.view()).toMatchObject({ locked: true, immobilized: false, emergencyStartsLeft: 1 })
    await third.close()
  })

  it('starts afresh from an unreadable state file: it then only refuses disables', async () => {
    const stateFile = join(dir, 'broken.json')
    await writeFile(stateFile, '{"stage": "disable"')
    const warnings: string[] = []
    const car = await createCarImmobilizer({ stateFile, logger: { warn: (w) => warnings.push(w) } })
    expect(warnings).toHaveLength(1)
    expect(car.view()).toMatchObject({ stage: 'none', immobilized: false })
    expect(car.apply(disable, lockAt).refused).toMatch(/no warning was shown/)
    await car.close()
  })

  it('checks the emergency code: any 4 to 8 digits by default, or exactly the configured one', async () => {
    const disabled = async (emergencyCode?: string) => {
      const car = await createCarImmobilizer({ emergencyCode })
      car.apply(warning, dueAt)
      car.apply(finalWarning, finalAt)
      car.apply(disable, lockAt)
      return car
    }
    const any = await disabled()
    expect(any.enterEmergencyCode('12a4')).toMatchObject({
      ok: false,
      refused: 'emergency code refused: wrong code',
    })
    expect(any.enterEmergencyCode('123')).toMatchObject({ ok: false })
    expect(any.enterEmergencyCode('0000')).toMatchObject({ ok: true, view: { emergencyStartsLeft: 1 } })
    await any.close()
    const own = await disabled('2983')
    expect(own.enterEmergencyCode('0000')).toMatchObject({ ok: false, view: { emergencyStartsLeft: 2 } })
    expect(own.enterEmergencyCode('2983').ok).toBe(true)
    await own.close()
  })

  it('tells the agent when an emergency restart runs out, on its own timer', async () => {
    let ended = 0
    const short = { ...policy, emergencyDuration: 0 }
    const car = await createCarImmobilizer({ onTimer: () => ended++ })
    car.apply({ ...warning, immobilizer: { ...warning.immobilizer, policy: short } }, dueAt)
    car.apply({ ...finalWarning, immobilizer: { ...finalWarning.immobilizer, policy: short } }, finalAt)
    car.apply({ ...disable, immobilizer: { ...disable.immobilizer, policy: short } }, lockAt)
    expect(car.enterEmergencyCode('0000').view.immobilized).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(ended).toBe(1)
    expect(car.view()).toMatchObject({ immobilized: true, emergencyUntil: null })
    await car.close()
  })

  it('a device without an immobilizer applies the desired state as it is', () => {
    expect(applyAsIs(disable)).toEqual({ locked: true, message: LOCK_MESSAGE })
    expect(applyAsIs({ locked: false })).toEqual({ locked: false })
  })
})
