import type { Database } from 'better-sqlite3'
import type { Store } from '../../core/store.js'
import { createGroupCommit } from './createGroupCommit.js'
import { type DeviceRow, toDevice } from './rows.js'

/**
 * Device desired/reported state on SQLite, and the outbox of desired states still to publish. Versions only
 * grow; a command id maps to one version forever, so a retried run that repeats a command gets the same
 * version back instead of a new one.
 *
 * @example
 * const devices = sqliteDevices(db) // db already migrated (see migrate)
 * await devices.setDesired('0xcar', { locked: true }, 'job-1:0', Date.now()) // { version: 1, changed: true }
 * await devices.unpublishedDevices() // [{ deviceId: '0xcar', desiredVersion: 1, publishedVersion: 0, … }]
 * await devices.markPublished('0xcar', 1, Date.now())
 * await devices.unacknowledgedDevices(Date.now() - 10_000) // published 10 s ago, still not reported
 * await devices.deviceDrift() // { devices: 1, oldestDesiredAt: … } until the car reports version 1
 * await devices.listDevices() // every device, desired next to reported
 */
export function sqliteDevices(
  db: Database,
): Pick<
  Store,
  | 'getDevice'
  | 'getDevices'
  | 'setDesired'
  | 'recordReported'
  | 'markPublished'
  | 'unpublishedDevices'
  | 'unacknowledgedDevices'
  | 'markCorrected'
  | 'deviceDrift'
  | 'listDevices'
> {
  const q = {
    get: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE device_id = ?'),
    // The ids as one JSON array: one statement for any number of them, on the primary key.
    getMany: db.prepare<[string], DeviceRow>(
      'SELECT * FROM devices WHERE device_id IN (SELECT value FROM json_each(?))',
    ),
    command: db.prepare<[string], { version: number }>(
      'SELECT version FROM device_commands WHERE command_id = ?',
    ),
    ensure: db.prepare<[string]>('INSERT OR IGNORE INTO devices (device_id) VALUES (?)'),
    desire: db.prepare<[string, number, string, number, bigint | null, string]>(
      `UPDATE devices SET desired = ?, desired_version = ?, command_id = ?, desired_at = ?, desired_block = ?
       WHERE device_id = ?`,
    ),
    insertCommand: db.prepare<[string, string, number, string, number]>(
      'INSERT INTO device_commands (command_id, device_id, version, desired, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    report: db.prepare<[string, number, number, number, string, number]>(
      `UPDATE devices SET reported = ?, reported_version = ?, reported_at = ?,
       corrections = CASE WHEN ? >= desired_version THEN 0 ELSE corrections END
       WHERE device_id = ? AND reported_version <= ?`,
    ),
    corrected: db.prepare<[string]>('UPDATE devices SET corrections = corrections + 1 WHERE device_id = ?'),
    published: db.prepare<[number, number, string, number]>(
      `UPDATE devices SET published_version = ?, published_at = ?
       WHERE device_id = ? AND published_version < ?`,
    ),
    unpublished: db.prepare<[string, number], DeviceRow>(
      `SELECT * FROM devices WHERE desired_version > published_version AND device_id > ?
       ORDER BY device_id LIMIT ?`,
    ),
    unacknowledged: db.prepare<[number, string, number], DeviceRow>(
      `SELECT * FROM devices WHERE reported_version < desired_version AND published_version >= desired_version
       AND published_at <= ? AND device_id > ? ORDER BY device_id LIMIT ?`,
    ),
    // Reads only the devices_unacknowledged partial index: costs nothing for a fleet that is in step.
    drift: db.prepare<[], { n: number; since: number | null }>(
      'SELECT COUNT(*) AS n, MIN(desired_at) AS since FROM devices WHERE reported_version < desired_version',
    ),
    list: db.prepare<[string, number], DeviceRow>(
      'SELECT * FROM devices WHERE device_id > ? ORDER BY device_id LIMIT ?',
    ),
  }
  const setDesired = (
    deviceId: string,
    desired: object,
    commandId: string,
    at: number,
    blockNumber: bigint | null,
  ) => {
    const seen = q.command.get(commandId)
    if (seen) return { version: seen.version, changed: false, commandId }
    q.ensure.run(deviceId)
    // The row exists (ensured just above, in this transaction); a miss would read as a new device.
    const row = q.get.get(deviceId)
    const device = row ? toDevice(row) : null
    const text = JSON.stringify(desired)
    if (device?.desired && JSON.stringify(device.desired) === text) {
      return { version: device.desiredVersion, changed: false, commandId: device.commandId ?? commandId }
    }
    const version = (device?.desiredVersion ?? 0) + 1
    q.desire.run(text, version, commandId, at, blockNumber, deviceId)
    q.insertCommand.run(commandId, deviceId, version, text, at)
    return { version, changed: true, commandId }
  }
  // A block that commands a fleet brings a thousand desired states (setDesired), PUBACKs (markPublished) and
  // reports (recordReported) within milliseconds: one commit per turn of the event loop instead of one per
  // call (bench/floodStore.ts: markPublished ~190 → ~8 ms, recordReported ~280 → ~10 ms of the event loop
  // for 1,000). Each still resolves only once committed, so a command is durable before it is dispatched.
  // setDesired's own commit per call was ~60 µs of CPU per command more (bench/commandPath.ts, 4 runs
  // interleaved: 193/218 → 142/152 µs per command stored, signed and at the broker) and its WAL writes the
  // fleet's biggest SQLite cost; grouped, a block's thousand runs that decide in one turn also dispatch in
  // one turn, so the outbox signs them as one batch.
  const write = createGroupCommit(db)
  return {
    async getDevice(deviceId) {
      const row = q.get.get(deviceId)
      return row ? toDevice(row) : null
    },
    async getDevices(deviceIds) {
      return deviceIds.length === 0 ? [] : q.getMany.all(JSON.stringify(deviceIds)).map(toDevice)
    },
    async setDesired(deviceId, desired, commandId, at, blockNumber) {
      return write(() => setDesired(deviceId, desired, commandId, at, blockNumber ?? null))
    },
    async recordReported(deviceId, reported, version, at) {
      const text = JSON.stringify(reported)
      return write(() => {
        q.ensure.run(deviceId)
        q.report.run(text, version, at, version, deviceId, version)
      })
    },
    async markPublished(deviceId, version, at) {
      return write(() => void q.published.run(version, at, deviceId, version))
    },
    async unpublishedDevices(limit = 1_000, after = '') {
      return q.unpublished.all(after, limit).map(toDevice)
    },
    async unacknowledgedDevices(publishedBefore, limit = 1_000, after = '') {
      return q.unacknowledged.all(publishedBefore, after, limit).map(toDevice)
    },
    async markCorrected(deviceId) {
      q.corrected.run(deviceId)
    },
    async deviceDrift() {
      const row = q.drift.get()
      return { devices: row?.n ?? 0, oldestDesiredAt: row?.since ?? null }
    },
    async listDevices(limit = 1_000, after = '') {
      return q.list.all(after, limit).map(toDevice)
    },
  }
}
