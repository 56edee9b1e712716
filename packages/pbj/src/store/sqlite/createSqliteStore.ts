import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Store } from '../../core/store.js'
import { acquireStoreLock, type StoreLock } from './acquireStoreLock.js'
import { checkWalIntact } from './checkWalIntact.js'
import { migrate } from './migrate.js'
import { quickCheck } from './quickCheck.js'
import { type TimerRow, toTimer } from './rows.js'
import { sqliteBlocks } from './sqliteBlocks.js'
import { sqliteDeviceCorrections } from './sqliteDeviceCorrections.js'
import { sqliteDevices } from './sqliteDevices.js'
import { sqliteJobs } from './sqliteJobs.js'
import { sqliteRelayedTxs } from './sqliteRelayedTxs.js'
import { sqliteUsage } from './sqliteUsage.js'
import { startWalCheckpointer } from './startWalCheckpointer.js'

/**
 * The embedded store: one SQLite file (WAL). `path: ':memory:'` keeps it in memory (tests).
 *
 * Every file open first refuses a database whose `-wal` was deleted with transactions in it
 * (checkWalIntact). The engine's open (`engine: true`) also takes the one-engine-per-database lock
 * (acquireStoreLock, released by `close`) and runs `PRAGMA quick_check`; the CLI's read-mostly opens skip
 * both, so they work while the engine runs.
 *
 * @example
 * const store = createSqliteStore({ path: '.pbj/pbj.db', engine: true })
 * await store.getCursor(31337) // null on a fresh database
 */
export function createSqliteStore(options: { path: string; engine?: boolean }): Store {
  const file = options.path !== ':memory:'
  if (file) mkdirSync(dirname(options.path), { recursive: true })
  let lock: StoreLock | undefined
  let db: Database.Database | undefined
  try {
    if (file && options.engine) lock = acquireStoreLock(options.path)
    if (file) checkWalIntact(options.path)
    db = new Database(options.path)
    if (file && options.engine) quickCheck(db)
    migrate(db)
  } catch (error) {
    db?.close()
    lock?.release()
    throw error
  }
  // After the migration: a file it refuses is left as it was, and a journal mode change is not allowed
  // inside its transaction.
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  // The engine's commits never wait for a checkpoint: a thread of its own does them.
  const checkpointer = file && options.engine ? startWalCheckpointer(db, options.path) : undefined

  const q = {
    dueTimers: db.prepare<[bigint, number], TimerRow>(
      'SELECT * FROM timers WHERE at <= ? ORDER BY at LIMIT ?',
    ),
    getTimer: db.prepare<[string], TimerRow>('SELECT * FROM timers WHERE id = ?'),
    ensureTimer: db.prepare<[string, string, string, bigint]>(
      'INSERT OR IGNORE INTO timers (id, function_name, key, at) VALUES (?, ?, ?, ?)',
    ),
    getCondition: db.prepare<[string], { value: number }>('SELECT value FROM conditions WHERE id = ?'),
    kvGet: db.prepare<[string, string], { value: string }>(
      'SELECT value FROM kv WHERE scope = ? AND key = ?',
    ),
    kvSet: db.prepare<[string, string, string]>(
      'INSERT OR REPLACE INTO kv (scope, key, value) VALUES (?, ?, ?)',
    ),
    kvDelete: db.prepare<[string, string]>('DELETE FROM kv WHERE scope = ? AND key = ?'),
    kvScopeBytes: db.prepare<[string, string], { n: number }>(
      'SELECT COALESCE(SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) AS n FROM kv WHERE scope = ? AND key != ?',
    ),
  }
  // One synchronous transaction: concurrent runs of a function cannot both fit under the limit.
  const kvSetWithin = db.transaction((scope: string, key: string, value: string, max: number) => {
    const others = q.kvScopeBytes.get(scope, key)?.n ?? 0
    const scopeBytes = others + Buffer.byteLength(key) + Buffer.byteLength(value)
    if (scopeBytes > max) return { stored: false, scopeBytes }
    q.kvSet.run(scope, key, value)
    return { stored: true, scopeBytes }
  })

  return {
    async dueTimers(timestamp, limit = 10_000) {
      return q.dueTimers.all(timestamp, limit).map(toTimer)
    },
    async getTimer(id) {
      const row = q.getTimer.get(id)
      return row ? toTimer(row) : null
    },
    async ensureTimer(t) {
      q.ensureTimer.run(t.id, t.functionName, t.key, t.at)
    },
    async getConditions(ids) {
      const out = new Map<string, boolean>()
      for (const id of ids) {
        const row = q.getCondition.get(id)
        if (row) out.set(id, row.value === 1)
      }
      return out
    },
    async kvGet(scope, key) {
      return q.kvGet.get(scope, key)?.value ?? null
    },
    async kvSet(scope, key, value, maxScopeBytes) {
      if (maxScopeBytes !== undefined) return kvSetWithin(scope, key, value, maxScopeBytes)
      q.kvSet.run(scope, key, value)
      return { stored: true, scopeBytes: Number.NaN }
    },
    async kvDelete(scope, key) {
      q.kvDelete.run(scope, key)
    },
    ...sqliteBlocks(db),
    ...sqliteJobs(db),
    ...sqliteDevices(db),
    relayedTxs: sqliteRelayedTxs(db),
    usage: sqliteUsage(db),
    deviceCorrections: sqliteDeviceCorrections(db),
    async close() {
      // First, so that the engine's connection is the last one: closing, it checkpoints and removes the WAL.
      await checkpointer?.close()
      db.close()
      lock?.release()
    },
  }
}
