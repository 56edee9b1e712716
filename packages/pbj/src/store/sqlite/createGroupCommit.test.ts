import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { timeOrderedUuid } from '../../internal/timeOrderedUuid.js'
import { createGroupCommit } from './createGroupCommit.js'

const open = () => {
  const db = new Database(':memory:')
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL)')
  return {
    db,
    insert: db.prepare('INSERT INTO t (id, n) VALUES (?, ?)'),
    count: db.prepare('SELECT count(*) AS c FROM t'),
  }
}

describe('createGroupCommit', () => {
  it('commits the writes of one turn together, each resolving with its own result', async () => {
    const { db, insert, count } = open()
    const write = createGroupCommit(db)
    const results = await Promise.all([1, 2, 3].map((n) => write(() => insert.run(`id${n}`, n).changes)))
    expect(results).toEqual([1, 1, 1])
    expect(count.get()).toEqual({ c: 3 })
  })

  it('rejects only the write that failed; the others of its turn are committed', async () => {
    const { db, insert, count } = open()
    const write = createGroupCommit(db)
    const outcomes = await Promise.allSettled([
      write(() => insert.run('a', 1)),
      write(() => insert.run('a', 2)), // duplicate key
      write(() => insert.run('b', 3)),
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(count.get()).toEqual({ c: 2 })
  })

  it('applies a write of several statements whole or not at all, without a savepoint of its own', async () => {
    const { db, insert } = open()
    const write = createGroupCommit(db)
    const ids = db.prepare<[], { id: string }>('SELECT id FROM t ORDER BY id')
    const outcomes = await Promise.allSettled([
      write(() => insert.run('a', 1)),
      // Its first statement succeeds, its second fails: the first must not be committed either.
      write(() => {
        insert.run('b', 2)
        insert.run('a', 3)
      }),
      write(() => insert.run('c', 4)),
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(ids.all().map((r) => r.id)).toEqual(['a', 'c'])
  })

  it('rejects every write when the database is gone', async () => {
    const { db, insert } = open()
    const write = createGroupCommit(db)
    const pending = write(() => insert.run('a', 1))
    db.close()
    await expect(pending).rejects.toThrow(/not open/)
  })
})

describe('run ids (uuid v7)', () => {
  // sqliteJobs relies on it: runs keyed by these ids are appended to the index, not spread over its pages.
  it('are distinct UUIDv7 strings that sort in the order they were made, many in one millisecond', () => {
    const ids = Array.from({ length: 5_000 }, () => timeOrderedUuid())
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})
