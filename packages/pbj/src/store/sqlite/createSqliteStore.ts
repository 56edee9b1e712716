import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Store } from '../types.js'
import { toCursor, toJob, toRun, toTimer } from './rows.js'
import { schema } from './schema.js'
import { sqliteDevices } from './sqliteDevices.js'

/** How many recent block hashes are kept for reorg checks. */
const BLOCK_WINDOW = 256

/**
 * The embedded store: one SQLite file (WAL). `path: ':memory:'` keeps it in memory (tests).
 *
 * @example
 * const store = createSqliteStore({ path: '.pbj/pbj.db' })
 * await store.getCursor(31337) // null on a fresh database
 */
export function createSqliteStore(options: { path: string }): Store {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true })
  const db = new Database(options.path)
  db.exec(schema)

  const q = {
    getCursor: db.prepare('SELECT * FROM cursor WHERE chain_id = ?'),
    setCursor: db.prepare(
      `INSERT INTO cursor (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (chain_id) DO UPDATE SET number = excluded.number, hash = excluded.hash,
       parent_hash = excluded.parent_hash, timestamp = excluded.timestamp`,
    ),
    putBlock: db.prepare(
      'INSERT OR REPLACE INTO blocks (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)',
    ),
    pruneBlocks: db.prepare('DELETE FROM blocks WHERE chain_id = ? AND number < ?'),
    insertJob: db.prepare(
      `INSERT OR IGNORE INTO jobs (id, function_name, entry, input, block_number, block_hash, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`,
    ),
    setTimer: db.prepare('INSERT OR REPLACE INTO timers (id, function_name, key, at) VALUES (?, ?, ?, ?)'),
    ensureTimer: db.prepare('INSERT OR IGNORE INTO timers (id, function_name, key, at) VALUES (?, ?, ?, ?)'),
    clearTimer: db.prepare('DELETE FROM timers WHERE id = ?'),
    getTimer: db.prepare('SELECT * FROM timers WHERE id = ?'),
    dueTimers: db.prepare('SELECT * FROM timers WHERE at <= ? ORDER BY at LIMIT ?'),
    setCondition: db.prepare('INSERT OR REPLACE INTO conditions (id, value) VALUES (?, ?)'),
    getCondition: db.prepare('SELECT value FROM conditions WHERE id = ?'),
    unfinished: db.prepare(
      "SELECT * FROM jobs WHERE status IN ('pending', 'running') ORDER BY block_number, created_at, id",
    ),
    getJob: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    startJob: db.prepare("UPDATE jobs SET status = 'running', attempts = ? WHERE id = ?"),
    insertRun: db.prepare(
      `INSERT INTO runs (id, job_id, function_name, attempt, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)`,
    ),
    finishRun: db.prepare(
      'UPDATE runs SET status = ?, ended_at = ?, duration_ms = ? - started_at, logs = ?, error = ? WHERE id = ?',
    ),
    setJobStatus: db.prepare(
      'UPDATE jobs SET status = ?, run_after = coalesce(?, run_after), last_error = coalesce(?, last_error) WHERE id = ?',
    ),
    getRun: db.prepare('SELECT * FROM runs WHERE id = ?'),
    kvGet: db.prepare('SELECT value FROM kv WHERE scope = ? AND key = ?'),
    kvSet: db.prepare('INSERT OR REPLACE INTO kv (scope, key, value) VALUES (?, ?, ?)'),
    kvDelete: db.prepare('DELETE FROM kv WHERE scope = ? AND key = ?'),
  }

  const commitBlock = db.transaction((chainId: number, write: Parameters<Store['commitBlock']>[1]) => {
    const { block } = write
    const now = Date.now()
    for (const job of write.jobs) {
      q.insertJob.run(job.id, job.functionName, job.entry, job.input, job.blockNumber, job.blockHash, now)
    }
    for (const id of write.timersCleared) q.clearTimer.run(id)
    for (const t of write.timersSet) q.setTimer.run(t.id, t.functionName, t.key, t.at)
    for (const c of write.conditions) q.setCondition.run(c.id, c.value ? 1 : 0)
    q.putBlock.run(chainId, block.number, block.hash, block.parentHash, block.timestamp)
    q.pruneBlocks.run(chainId, block.number - BigInt(BLOCK_WINDOW))
    q.setCursor.run(chainId, block.number, block.hash, block.parentHash, block.timestamp)
  })

  return {
    async getCursor(chainId) {
      const row = q.getCursor.get(chainId) as Record<string, unknown> | undefined
      return row ? toCursor(row) : null
    },
    async commitBlock(chainId, write) {
      commitBlock(chainId, write)
    },
    async dueTimers(timestamp, limit = 10_000) {
      return (q.dueTimers.all(timestamp, limit) as Record<string, unknown>[]).map(toTimer)
    },
    async getTimer(id) {
      const row = q.getTimer.get(id) as Record<string, unknown> | undefined
      return row ? toTimer(row) : null
    },
    async ensureTimer(t) {
      q.ensureTimer.run(t.id, t.functionName, t.key, t.at)
    },
    async getConditions(ids) {
      const out = new Map<string, boolean>()
      for (const id of ids) {
        const row = q.getCondition.get(id) as { value: number } | undefined
        if (row) out.set(id, row.value === 1)
      }
      return out
    },
    async unfinishedJobs() {
      return (q.unfinished.all() as Record<string, unknown>[]).map(toJob)
    },
    async getJob(id) {
      const row = q.getJob.get(id) as Record<string, unknown> | undefined
      return row ? toJob(row) : null
    },
    async startRun(jobId, functionName, attempt, startedAt) {
      const id = randomUUID()
      db.transaction(() => {
        q.startJob.run(attempt, jobId)
        q.insertRun.run(id, jobId, functionName, attempt, startedAt)
      })()
      return id
    },
    async finishRun(runId, r) {
      const error = r.error ? JSON.stringify(r.error) : null
      q.finishRun.run(r.status, r.endedAt, r.endedAt, JSON.stringify(r.logs), error, runId)
    },
    async setJobStatus(jobId, status, fields = {}) {
      q.setJobStatus.run(status, fields.runAfter ?? null, fields.lastError ?? null, jobId)
    },
    async listRuns(filter = {}) {
      const where: string[] = []
      const args: unknown[] = []
      if (filter.functionName) where.push('function_name = ?') && args.push(filter.functionName)
      if (filter.status) where.push('status = ?') && args.push(filter.status)
      const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY started_at DESC LIMIT ?`
      return (db.prepare(sql).all(...args, filter.limit ?? 50) as Record<string, unknown>[]).map(toRun)
    },
    async getRun(id) {
      const row = q.getRun.get(id) as Record<string, unknown> | undefined
      return row ? toRun(row) : null
    },
    async kvGet(scope, key) {
      return (q.kvGet.get(scope, key) as { value: string } | undefined)?.value ?? null
    },
    async kvSet(scope, key, value) {
      q.kvSet.run(scope, key, value)
    },
    async kvDelete(scope, key) {
      q.kvDelete.run(scope, key)
    },
    ...sqliteDevices(db),
    async close() {
      db.close()
    },
  }
}
