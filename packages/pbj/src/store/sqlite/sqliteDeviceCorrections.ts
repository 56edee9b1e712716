import type { Database } from 'better-sqlite3'
import type { DeviceCorrection, DeviceCorrectionStore } from '../../core/deviceCorrection.js'

type CorrectionRow = {
  seq: number
  device_id: string
  at: number
  block_number: number | bigint
  from_state: string
  to_state: string
  reason: DeviceCorrection['reason']
  outcome: DeviceCorrection['outcome']
  version: number | null
  detail: string | null
}

const toCorrection = (row: CorrectionRow): DeviceCorrection => ({
  deviceId: row.device_id,
  at: row.at,
  blockNumber: BigInt(row.block_number),
  from: row.from_state,
  to: row.to_state,
  reason: row.reason,
  outcome: row.outcome,
  version: row.version,
  detail: row.detail,
})

/**
 * The corrections chain-level reconciliation made (or was refused) on SQLite, in the order they happened.
 *
 * @example
 * const corrections = sqliteDeviceCorrections(db) // db already migrated (see migrate)
 * await corrections.list({ deviceId: '0xcar', limit: 10 })
 */
export function sqliteDeviceCorrections(db: Database): DeviceCorrectionStore {
  const q = {
    insert: db.prepare<
      [string, number, bigint, string, string, string, string, number | null, string | null]
    >(
      `INSERT INTO device_corrections (device_id, at, block_number, from_state, to_state, reason, outcome, version, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    newest: db.prepare<[number], CorrectionRow>('SELECT * FROM device_corrections ORDER BY seq DESC LIMIT ?'),
    newestOf: db.prepare<[string, number], CorrectionRow>(
      'SELECT * FROM device_corrections WHERE device_id = ? ORDER BY seq DESC LIMIT ?',
    ),
  }
  return {
    async record(c) {
      q.insert.run(c.deviceId, c.at, c.blockNumber, c.from, c.to, c.reason, c.outcome, c.version, c.detail)
    },
    async list(filter = {}) {
      const limit = filter.limit ?? 100
      const rows = filter.deviceId ? q.newestOf.all(filter.deviceId, limit) : q.newest.all(limit)
      return rows.reverse().map(toCorrection)
    },
  }
}
