import { existsSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from '@pbj/internal/sleep.js'
import { describe, expect, it } from 'vitest'
import { createSqliteStore } from './createSqliteStore.js'

const size = (file: string) => (existsSync(file) ? statSync(file).size : 0)

describe('the WAL checkpointer', () => {
  it("copies the engine's commits into the database file on its own thread, well before the WAL holds 10,000 pages", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-ckpt-')), 'pbj.db')
    const store = createSqliteStore({ path, engine: true })
    const before = size(path)
    // ~800 KB in the WAL, under 1,000 pages: below SQLite's own checkpoint threshold (and far below the
    // engine's, 10,000 pages), so only the thread can have copied it into the database file.
    const value = 'x'.repeat(4_000)
    for (let i = 0; i < 200; i++) await store.kvSet('scope', `key-${i}`, value)
    let grown = size(path)
    for (let waited = 0; grown < before + 700_000 && waited < 5_000; waited += 50) {
      await sleep(50)
      grown = size(path)
    }
    expect(grown).toBeGreaterThan(before + 700_000)
    await store.kvSet('scope', 'once more', 'z')
    expect(await store.kvGet('scope', 'key-199')).toBe(value)
    await store.close()
    // The engine's connection closed last: the WAL is checkpointed and removed as usual.
    expect(existsSync(`${path}-wal`)).toBe(false)
    const again = createSqliteStore({ path })
    expect(await again.kvGet('scope', 'once more')).toBe('z')
    await again.close()
  })
})
