import { existsSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from '@pbj/internal/sleep.js'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createSqliteStore } from './createSqliteStore.js'
import { startWalCheckpointer } from './startWalCheckpointer.js'

const size = (file: string) => (existsSync(file) ? statSync(file).size : 0)

/** A WAL database with a table, and `write(n)`: n rows of ~4 KB, one transaction each (a few pages each). */
const openDatabase = () => {
  const path = join(mkdtempSync(join(tmpdir(), 'pbj-ckpt-')), 'pbj.db')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const write = (n: number) => {
    for (let i = 0; i < n; i++) insert.run('x'.repeat(4_000))
  }
  return { path, db, write }
}

/** The database file's size once it stops growing for 300 ms (or after 5 s). */
const settledSize = async (path: string) => {
  let last = size(path)
  for (let waited = 0; waited < 5_000; waited += 300) {
    await sleep(300)
    const now = size(path)
    if (now === last) return now
    last = now
  }
  return last
}

describe('startWalCheckpointer', () => {
  it("copies the WAL into the database file on its own thread once minFrames pages wait, and not before; the engine's own checkpoint waits for 10,000", async () => {
    const { path, db, write } = openDatabase()
    const checkpointer = startWalCheckpointer(db, path, { intervalMs: 20, minFrames: 400 })
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000)
      const empty = size(path)
      // ~100 rows: under 400 pages, so nothing is copied (SQLite's own default, 1,000 pages, is off too).
      write(100)
      expect(await settledSize(path)).toBe(empty)
      // ~300 more: past 400 pages, far below 10,000: only the thread can have copied them. It may look while
      // they are being written and copy what is there then, leaving the rest (under 400 pages) to wait.
      write(300)
      expect(await settledSize(path)).toBeGreaterThan(empty + 800_000)
    } finally {
      await checkpointer.close()
      db.close()
    }
  })

  it("runs beside the engine's store, which closes last: the WAL is checkpointed and removed as usual", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-ckpt-')), 'pbj.db')
    const store = createSqliteStore({ path, engine: true })
    const value = 'x'.repeat(4_000)
    for (let i = 0; i < 50; i++) await store.kvSet('scope', `key-${i}`, value)
    await store.close()
    expect(existsSync(`${path}-wal`)).toBe(false)
    const again = createSqliteStore({ path })
    expect(await again.kvGet('scope', 'key-49')).toBe(value)
    await again.close()
  })
})
