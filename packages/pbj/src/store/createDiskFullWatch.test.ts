import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { DiskFullError } from '../internal/errors.js'
import { createHealth } from '../internal/health.js'
import type { LogFields } from '../internal/logger.js'
import { createDiskFullWatch } from './createDiskFullWatch.js'
import { isDiskFull } from './isDiskFull.js'

const full = () => new Database.SqliteError('database or disk is full', 'SQLITE_FULL')
const dir = mkdtempSync(join(tmpdir(), 'pbj-diskfull-watch-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('isDiskFull', () => {
  it('knows a refused write from any other failure, through causes', () => {
    expect(isDiskFull(full())).toBe(true)
    expect(isDiskFull(new Error('commit failed', { cause: full() }))).toBe(true)
    expect(isDiskFull(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE'))).toBe(true)
    expect(isDiskFull(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))).toBe(true)
    expect(isDiskFull(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_READ'))).toBe(false)
    expect(isDiskFull(new Database.SqliteError('database is locked', 'SQLITE_BUSY'))).toBe(false)
    expect(isDiskFull(new Error('database or disk is full'))).toBe(false)
  })
})

describe('createDiskFullWatch', () => {
  const records: { level: string; message: string; fields: LogFields }[] = []
  const logger = {
    info: (message: string, fields: LogFields = {}) => void records.push({ level: 'info', message, fields }),
    error: (message: string, fields: LogFields = {}) =>
      void records.push({ level: 'error', message, fields }),
  }

  it('one episode: unready, logged once, writes wait, resumed by a probe that can write', async () => {
    const health = createHealth()
    health.set('store', true)
    const watch = createDiskFullWatch({ dir, health, logger, probeMs: { first: 20, max: 40 } })
    expect(watch.report(new Error('boom'))).toBe(false)
    expect(watch.full).toBe(false)
    await watch.writable()
    expect(watch.report(full())).toBe(true)
    expect(watch.report(full())).toBe(true)
    expect(watch.full).toBe(true)
    expect(health.report().checks.store).toMatchObject({
      ok: false,
      detail: `disk full: database or disk is full (${dir})`,
    })
    const errors = records.filter((r) => r.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.fields).toMatchObject({
      diskFull: true,
      dir,
      hint: expect.stringContaining(`Free space at ${dir}`),
    })
    // The directory has room: the probe writes, the episode ends, the waiters go on.
    await watch.writable()
    expect(watch.full).toBe(false)
    expect(health.report().checks.store?.ok).toBe(true)
    expect(records.at(-1)).toMatchObject({ level: 'info', message: 'store writable again' })
    expect(readdirSync(dir)).toEqual([])
    // A later episode is a new one, logged again.
    watch.report(full())
    expect(records.filter((r) => r.level === 'error')).toHaveLength(2)
    watch.close()
    await expect(watch.writable()).rejects.toBeInstanceOf(DiskFullError)
  })
})
