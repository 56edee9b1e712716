import type { Database } from 'better-sqlite3'
import type { Hex } from 'viem'
import type { Settlement, UsageRow, UsageStore } from '../../core/usage.js'
import { MissingRowError } from './errors.js'

/** A `usage` row. Amounts are TEXT: token units and wei overflow SQLite's 64-bit integers. */
type UsageTableRow = {
  seq: number
  run_id: string
  job_id: string
  function_name: string
  duration_ms: number
  device_messages: number
  gas_wei: string
  amount: string
  at: number
  settlement: string | null
}

/** A `settlements` row. */
type SettlementRow = {
  key: string
  project_id: Hex
  from_seq: number
  to_seq: number
  amount: string
  usage_root: Hex
  at: number
  mined_at: number | null
}

const toUsage = (r: UsageTableRow): UsageRow => ({
  seq: r.seq,
  runId: r.run_id,
  jobId: r.job_id,
  functionName: r.function_name,
  durationMs: r.duration_ms,
  deviceMessages: r.device_messages,
  gasWei: BigInt(r.gas_wei),
  amount: BigInt(r.amount),
  at: r.at,
  settlement: r.settlement,
})
const toSettlement = (r: SettlementRow): Settlement => ({
  key: r.key,
  projectId: r.project_id,
  fromSeq: r.from_seq,
  toSeq: r.to_seq,
  amount: BigInt(r.amount),
  usageRoot: r.usage_root,
  at: r.at,
  minedAt: r.mined_at,
})

/**
 * Metered usage and settlements on SQLite.
 *
 * @example
 * const usage = sqliteUsage(db) // db already migrated (see migrate)
 * await usage.record({ runId, jobId, functionName, durationMs: 3, deviceMessages: 1, gasWei: 0n, amount: 1_300n, at: Date.now() })
 */
export function sqliteUsage(db: Database): UsageStore {
  const q = {
    insert: db.prepare<[string, string, string, number, number, string, string, number]>(
      `INSERT OR IGNORE INTO usage (run_id, job_id, function_name, duration_ms, device_messages, gas_wei, amount, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byRun: db.prepare<[string], UsageTableRow>('SELECT * FROM usage WHERE run_id = ?'),
    unsettled: db.prepare<[number], UsageTableRow>(
      'SELECT * FROM usage WHERE settlement IS NULL ORDER BY seq LIMIT ?',
    ),
    list: db.prepare<[number, number], UsageTableRow>(
      'SELECT * FROM usage WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    insertSettlement: db.prepare<[string, Hex, number, number, string, Hex, number]>(
      `INSERT OR IGNORE INTO settlements (key, project_id, from_seq, to_seq, amount, usage_root, at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    getSettlement: db.prepare<[string], SettlementRow>('SELECT * FROM settlements WHERE key = ?'),
    mined: db.prepare<[number, string]>('UPDATE settlements SET mined_at = ? WHERE key = ?'),
    drop: db.prepare<[string]>('DELETE FROM settlements WHERE key = ? AND mined_at IS NULL'),
    mark: db.prepare<[string, number, number]>(
      'UPDATE usage SET settlement = ? WHERE seq BETWEEN ? AND ? AND settlement IS NULL',
    ),
    settlements: db.prepare<[], SettlementRow>('SELECT * FROM settlements ORDER BY from_seq'),
  }
  const markSettled = db.transaction((key: string, at: number) => {
    const row = q.getSettlement.get(key)
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
      const row = q.byRun.get(r.runId)
      if (!row) throw new MissingRowError({ table: 'usage', key: r.runId })
      return toUsage(row)
    },
    async unsettled(limit = 10_000) {
      return q.unsettled.all(limit).map(toUsage)
    },
    async list(filter = {}) {
      return q.list.all(filter.afterSeq ?? 0, filter.limit ?? 10_000).map(toUsage)
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
      return q.settlements.all().map(toSettlement)
    },
  }
}
