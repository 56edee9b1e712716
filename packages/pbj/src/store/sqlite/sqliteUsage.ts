import type { Database } from 'better-sqlite3'
import type { Hex } from 'viem'
import type { Settlement, UsageRow, UsageStore } from '../../core/usage.js'

type Row = Record<string, unknown>

// Created here rather than in schema.ts: only this module reads them, and older files gain them on open.
const tables = `
CREATE TABLE IF NOT EXISTS usage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, job_id TEXT NOT NULL,
  function_name TEXT NOT NULL, duration_ms REAL NOT NULL, device_messages INTEGER NOT NULL,
  gas_wei TEXT NOT NULL, amount TEXT NOT NULL, at INTEGER NOT NULL, settlement TEXT
);
CREATE INDEX IF NOT EXISTS usage_unsettled ON usage (seq) WHERE settlement IS NULL;
CREATE TABLE IF NOT EXISTS settlements (
  key TEXT PRIMARY KEY, project_id TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,
  amount TEXT NOT NULL, usage_root TEXT NOT NULL, at INTEGER NOT NULL, mined_at INTEGER
);
`

// Amounts are TEXT: token units and wei overflow SQLite's 64-bit integers.
const toUsage = (r: Row): UsageRow => ({
  seq: Number(r.seq),
  runId: String(r.run_id),
  jobId: String(r.job_id),
  functionName: String(r.function_name),
  durationMs: Number(r.duration_ms),
  deviceMessages: Number(r.device_messages),
  gasWei: BigInt(String(r.gas_wei)),
  amount: BigInt(String(r.amount)),
  at: Number(r.at),
  settlement: r.settlement === null ? null : String(r.settlement),
})
const toSettlement = (r: Row): Settlement => ({
  key: String(r.key),
  projectId: String(r.project_id) as Hex,
  fromSeq: Number(r.from_seq),
  toSeq: Number(r.to_seq),
  amount: BigInt(String(r.amount)),
  usageRoot: String(r.usage_root) as Hex,
  at: Number(r.at),
  minedAt: r.mined_at === null ? null : Number(r.mined_at),
})

/**
 * Metered usage and settlements on SQLite.
 *
 * @example
 * const usage = sqliteUsage(db)
 * await usage.record({ runId, jobId, functionName, durationMs: 3, deviceMessages: 1, gasWei: 0n, amount: 1_300n, at: Date.now() })
 */
export function sqliteUsage(db: Database): UsageStore {
  db.exec(tables)
  const q = {
    insert: db.prepare(
      `INSERT OR IGNORE INTO usage (run_id, job_id, function_name, duration_ms, device_messages, gas_wei, amount, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byRun: db.prepare('SELECT * FROM usage WHERE run_id = ?'),
    unsettled: db.prepare('SELECT * FROM usage WHERE settlement IS NULL ORDER BY seq LIMIT ?'),
    list: db.prepare('SELECT * FROM usage WHERE seq > ? ORDER BY seq LIMIT ?'),
    insertSettlement: db.prepare(
      `INSERT OR IGNORE INTO settlements (key, project_id, from_seq, to_seq, amount, usage_root, at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    getSettlement: db.prepare('SELECT * FROM settlements WHERE key = ?'),
    mined: db.prepare('UPDATE settlements SET mined_at = ? WHERE key = ?'),
    drop: db.prepare('DELETE FROM settlements WHERE key = ? AND mined_at IS NULL'),
    mark: db.prepare('UPDATE usage SET settlement = ? WHERE seq BETWEEN ? AND ? AND settlement IS NULL'),
    settlements: db.prepare('SELECT * FROM settlements ORDER BY from_seq'),
  }
  const markSettled = db.transaction((key: string, at: number) => {
    const row = q.getSettlement.get(key) as Row | undefined
    if (!row || row.mined_at !== null) return
    q.mined.run(at, key)
    q.mark.run(key, row.from_seq, row.to_seq)
  })
  return {
    async record(r) {
      q.insert.run(
        r.runId,
        r.jobId,
        r.functionName,
        r.durationMs,
        r.deviceMessages,
        r.gasWei.toString(),
        r.amount.toString(),
        r.at,
      )
      return toUsage(q.byRun.get(r.runId) as Row)
    },
    async unsettled(limit = 10_000) {
      return (q.unsettled.all(limit) as Row[]).map(toUsage)
    },
    async list(filter = {}) {
      return (q.list.all(filter.afterSeq ?? 0, filter.limit ?? 10_000) as Row[]).map(toUsage)
    },
    async addSettlement(s) {
      q.insertSettlement.run(s.key, s.projectId, s.fromSeq, s.toSeq, s.amount.toString(), s.usageRoot, s.at)
    },
    async markSettled(key, at) {
      markSettled(key, at)
    },
    async dropSettlement(key) {
      q.drop.run(key)
    },
    async settlements() {
      return (q.settlements.all() as Row[]).map(toSettlement)
    },
  }
}
