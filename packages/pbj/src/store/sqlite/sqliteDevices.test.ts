import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createSqliteStore } from './createSqliteStore.js'

const ids = Array.from({ length: 200 }, (_, i) => `0x${i.toString(16).padStart(40, '0')}`)

// PUBACKs and reports recorded in one turn of the event loop share a commit (createGroupCommit): a fleet's
// PUBACKs and reports each arrive as a burst. Sharing must not change what each call means.
describe('sqliteDevices writes of one burst', () => {
  it('gives every device of a burst its own version, each durable once its call resolves', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-devices-')), 'pbj.db')
    const store = createSqliteStore({ path })
    const results = await Promise.all(
      ids.map((id, i) => store.setDesired(id, { locked: true }, `lock:${i}`, 1_000, 7n)),
    )
    expect(results.every((r) => r.version === 1 && r.changed)).toBe(true)
    await Promise.all(ids.map((id) => store.markPublished(id, 1, 2_000)))
    await Promise.all(ids.map((id) => store.recordReported(id, { locked: true }, 1, 3_000)))
    await store.close()

    const reopened = createSqliteStore({ path })
    const devices = await reopened.listDevices(1_000)
    expect(devices).toHaveLength(ids.length)
    for (const device of devices) {
      expect(device).toMatchObject({ desiredVersion: 1, publishedVersion: 1, reportedVersion: 1 })
      expect(device.desiredBlock).toBe(7n)
    }
    expect(await reopened.deviceDrift()).toEqual({ devices: 0, oldestDesiredAt: null })
    await reopened.close()
  })

  it('applies the writes of one device in the order they were asked for, even in one burst', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const [first, repeat, second, third] = await Promise.all([
      store.setDesired('0xcar', { locked: true }, 'c1', 1),
      store.setDesired('0xcar', { locked: true }, 'c1', 2),
      store.setDesired('0xcar', { locked: false }, 'c2', 3),
      store.setDesired('0xcar', { locked: true }, 'c3', 4),
    ])
    expect([first?.version, repeat, second?.version, third?.version]).toEqual([
      1,
      { version: 1, changed: false, commandId: 'c1' },
      2,
      3,
    ])
    // A late PUBACK of version 2 after version 3's, and a stale report, in one burst: neither goes back.
    await Promise.all([
      store.markPublished('0xcar', 3, 10),
      store.markPublished('0xcar', 2, 11),
      store.recordReported('0xcar', { locked: true }, 3, 12),
      store.recordReported('0xcar', { locked: false }, 2, 13),
    ])
    expect(await store.getDevice('0xcar')).toMatchObject({
      desiredVersion: 3,
      publishedVersion: 3,
      reportedVersion: 3,
      reported: { locked: true },
    })
    await store.close()
  })

  it('rejects only the write that fails, and commits the rest of its burst', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const results = await Promise.allSettled([
      store.setDesired('0xcar', { locked: true }, 'c1', 1),
      // A BigInt cannot be stored as JSON: this call fails on its own.
      store.recordReported('0xcar', { locked: true, odometer: 1n } as never, 1, 2),
      store.setDesired('0xvan', { locked: true }, 'c2', 3),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((await store.getDevice('0xvan'))?.desiredVersion).toBe(1)
    await store.close()
  })

  it('reads a burst of devices in one call: each record as getDevice has it, unknown ids left out', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await Promise.all(ids.map((id, i) => store.setDesired(id, { locked: i % 2 === 0 }, `c:${i}`, i, 3n)))
    await store.markPublished(ids[1] as string, 1, 5)
    const unknown = `0x${'f'.repeat(40)}`
    const records = await store.getDevices([...ids, unknown])
    expect(records).toHaveLength(ids.length)
    const byId = new Map(records.map((record) => [record.deviceId, record]))
    for (const id of ids) expect(byId.get(id)).toEqual(await store.getDevice(id))
    expect(byId.get(ids[1] as string)?.publishedVersion).toBe(1)
    expect(await store.getDevices([])).toEqual([])
    await store.close()
  })
})
