import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { DeviceCorrection } from '../../core/deviceCorrection.js'
import { createSqliteStore } from './createSqliteStore.js'

const dir = mkdtempSync(join(tmpdir(), 'pbj-corrections-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const correction = (
  deviceId: string,
  at: number,
  outcome: DeviceCorrection['outcome'],
): DeviceCorrection => ({
  deviceId,
  at,
  blockNumber: 10n ** 12n + BigInt(at),
  from: 'unlocked',
  to: 'locked',
  reason: 'periodic',
  outcome,
  version: outcome === 'corrected' ? at : null,
  detail: outcome === 'corrected' ? null : 'not-operator: the device is not ours',
})

describe('device corrections on SQLite', () => {
  it('keeps each correction across a reopen and lists the newest, oldest first, per device or all', async () => {
    const path = join(dir, 'pbj.db')
    const first = createSqliteStore({ path })
    await first.deviceCorrections.record(correction('0xa', 1, 'corrected'))
    await first.deviceCorrections.record(correction('0xb', 2, 'refused'))
    await first.deviceCorrections.record(correction('0xa', 3, 'failed'))
    await first.close()

    const store = createSqliteStore({ path })
    expect(await store.deviceCorrections.list()).toEqual([
      correction('0xa', 1, 'corrected'),
      correction('0xb', 2, 'refused'),
      correction('0xa', 3, 'failed'),
    ])
    expect((await store.deviceCorrections.list({ deviceId: '0xa' })).map((c) => c.at)).toEqual([1, 3])
    expect((await store.deviceCorrections.list({ limit: 2 })).map((c) => c.at)).toEqual([2, 3])
    await store.close()
  })
})
