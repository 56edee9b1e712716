// `pbj devices`: desired vs reported state per device, and how long they have differed, read from a real
// SQLite store the way a running engine leaves it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeviceDesired } from '#pbj/core/device.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { runPbj } from './helpers/runPbj.js'

const id = (n: number) => `0x${String(n).repeat(40)}`
const [behind, synced, undelivered, reportOnly] = [id(1), id(2), id(3), id(4)]
const dir = mkdtempSync(join(tmpdir(), 'pbj-devices-cli-'))
const lockedAt = Date.now() - 12_000

const pbj = runPbj

beforeAll(async () => {
  // The default database of a project: <dir>/.pbj/pbj.db, as `pbj start` writes it.
  const store = createSqliteStore({ path: join(dir, '.pbj', 'pbj.db') })
  // Unlocked and acknowledged, then locked 12 s ago: published, but the car still reports version 1.
  await store.setDesired(behind, { locked: false, reason: 'paid' }, 'job-a:0', lockedAt - 60_000, 5n)
  await store.markPublished(behind, 1, lockedAt - 60_000)
  await store.recordReported(behind, { locked: false }, 1, lockedAt - 59_000)
  const lock: DeviceDesired = { locked: true, reason: 'missed-payment', message: 'pay' }
  await store.setDesired(behind, lock, 'job-b:0', lockedAt, 9n)
  await store.markPublished(behind, 2, lockedAt + 2)
  // Sent again twice since (the engine's correction of a car that reports behind).
  await store.markCorrected(behind)
  await store.markCorrected(behind)
  // In sync, in the immobilizer's warning stage (kept with the desired and the reported state).
  const immobilizer = { stage: 'warning' }
  const warning = { locked: false, reason: 'warning', immobilizer } as DeviceDesired
  await store.setDesired(synced, warning, 'job-c:0', Date.now() - 5_000, 10n)
  await store.markPublished(synced, 1, Date.now() - 5_000)
  const reported = { locked: false, immobilizer } as Parameters<typeof store.recordReported>[1]
  await store.recordReported(synced, reported, 1, Date.now() - 4_900)
  // The broker was away: stored, never published, never reported.
  await store.setDesired(undelivered, { locked: true }, 'job-d:0', Date.now() - 3_000, 11n)
  // A car pbj never commanded, that reports anyway.
  await store.recordReported(reportOnly, { locked: false }, 3, Date.now())
  // What chain-level reconciliation found: one lock it sent, one unlock the guard refused.
  await store.deviceCorrections.record({
    deviceId: behind,
    at: lockedAt,
    blockNumber: 9n,
    from: 'unlocked',
    to: 'locked',
    reason: 'periodic',
    outcome: 'corrected',
    version: 2,
    detail: null,
  })
  await store.deviceCorrections.record({
    deviceId: undelivered,
    at: lockedAt + 1,
    blockNumber: 10n,
    from: 'locked',
    to: 'unlocked',
    reason: 'start',
    outcome: 'refused',
    version: null,
    detail: 'not-operator: the device is not registered with this operator',
  })
  await store.close()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('pbj devices', () => {
  it('prints one JSON line per device, by id, with desired, reported, published and how long they differ', async () => {
    const before = Date.now()
    const { code, stdout } = await pbj('devices', '--dir', dir, '--json')
    const after = Date.now()
    expect(code).toBe(0)
    const rows = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(rows.map((r) => r.deviceId)).toEqual([behind, synced, undelivered, reportOnly])
    const [a, b, c, d] = rows
    expect(a).toMatchObject({
      desired: { locked: true, reason: 'missed-payment' },
      desiredVersion: 2,
      desiredAt: lockedAt,
      desiredBlock: '9',
      reported: { locked: false },
      reportedVersion: 1,
      publishedVersion: 2,
      inSync: false,
    })
    expect(a.differsForMs).toBeGreaterThanOrEqual(before - lockedAt)
    expect(a.differsForMs).toBeLessThanOrEqual(after - lockedAt)
    expect(b).toMatchObject({
      desired: { immobilizer: { stage: 'warning' } },
      reported: { immobilizer: { stage: 'warning' } },
      reportedVersion: 1,
      inSync: true,
      differsForMs: null,
    })
    expect(c).toMatchObject({ desiredVersion: 1, publishedVersion: 0, reported: null, inSync: false })
    expect(d).toMatchObject({ desired: null, desiredVersion: 0, reportedVersion: 3, inSync: true })
  })

  it('prints a table a person can read', async () => {
    const { code, stdout } = await pbj('devices', '--dir', dir)
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^device\s+desired\s+reported\s+published\s+status$/)
    const line = (deviceId: string) => lines.find((l) => l.startsWith(deviceId))?.replace(/\s+/g, ' ')
    expect(line(behind)).toBe(
      `${behind} v2 locked (missed-payment) v1 unlocked v2 differs for 12 s, re-sent 2×`,
    )
    expect(line(synced)).toBe(`${synced} v1 unlocked [warning] (warning) v1 unlocked [warning] v1 in sync`)
    expect(line(undelivered)).toMatch(
      new RegExp(`^${undelivered} v1 locked - v0 differs for [34] s, not yet published$`),
    )
    expect(line(reportOnly)).toBe(`${reportOnly} - v3 unlocked - in sync`)
  })

  it('lists what reconciliation corrected or was refused with --corrections, oldest first', async () => {
    const json = await pbj('devices', '--dir', dir, '--corrections', '--json')
    expect(json.code).toBe(0)
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(rows).toEqual([
      expect.objectContaining({ deviceId: behind, blockNumber: '9', outcome: 'corrected', version: 2 }),
      expect.objectContaining({ deviceId: undelivered, reason: 'start', outcome: 'refused', version: null }),
    ])
    const table = await pbj('devices', '--dir', dir, '--corrections')
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^at\s+device\s+block\s+reason\s+change\s+outcome\s+detail$/)
    expect(lines[1]?.replace(/\s+/g, ' ')).toBe(
      `${new Date(lockedAt).toISOString()} ${behind} 9 periodic unlocked → locked corrected v2`,
    )
    expect(lines[2]?.replace(/\s+/g, ' ')).toBe(
      `${new Date(lockedAt + 1).toISOString()} ${undelivered} 10 start locked → unlocked refused not-operator: the device is not registered with this operator`,
    )
  })

  it('says so when the project has no database, and lists the command in the usage', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'pbj-devices-cli-empty-'))
    try {
      const { code, stderr } = await pbj('devices', '--dir', empty)
      expect(code).toBe(1)
      expect(stderr).toContain(`No pbj database at ${join(empty, '.pbj', 'dev.db')}`)
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
    expect((await pbj('help')).stdout).toMatch(/pbj devices \[--dir <project>\] \[--json\]/)
  })
})
