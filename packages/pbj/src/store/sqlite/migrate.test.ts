import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createSqliteStore } from './createSqliteStore.js'
import { DatabaseVersionError } from './errors.js'
import { migrate, migrations, userVersion } from './migrate.js'
import { initial } from './migrations/001_initial.js'

/**
 * The schema of a database file as pbj wrote it before numbered migrations (user_version 0): schema.ts at the
 * commit before them, run by every open. Its devices table has the outbox columns but not `corrections`
 * (migrateDevices added that on open), and the relayer's and usage tables did not exist until their modules
 * first ran.
 */
const unnumberedSchema = `
CREATE TABLE IF NOT EXISTS cursor (
  chain_id INTEGER PRIMARY KEY, number INTEGER NOT NULL, hash TEXT NOT NULL, parent_hash TEXT NOT NULL,
  timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
  chain_id INTEGER NOT NULL, number INTEGER NOT NULL, hash TEXT NOT NULL, parent_hash TEXT NOT NULL,
  timestamp INTEGER NOT NULL, PRIMARY KEY (chain_id, number)
);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, function_name TEXT NOT NULL, entry TEXT NOT NULL, input TEXT NOT NULL,
  block_number INTEGER NOT NULL, block_hash TEXT NOT NULL, ready_at INTEGER, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, run_after INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (status) WHERE status IN ('waiting', 'pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_by_block ON jobs (block_number);
-- What each block changed in timers and conditions, so a reorg can put them back as they were.
CREATE TABLE IF NOT EXISTS block_undo (
  chain_id INTEGER NOT NULL, number INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
  previous TEXT, PRIMARY KEY (chain_id, number, seq)
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, function_name TEXT NOT NULL, attempt INTEGER NOT NULL,
  status TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, duration_ms REAL, logs TEXT NOT NULL DEFAULT '[]',
  error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_function ON runs (function_name, started_at);
CREATE TABLE IF NOT EXISTS timers (
  id TEXT PRIMARY KEY, function_name TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_by_at ON timers (at);
CREATE TABLE IF NOT EXISTS conditions (id TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY, desired TEXT, desired_version INTEGER NOT NULL DEFAULT 0, command_id TEXT,
  desired_at INTEGER, reported TEXT, reported_version INTEGER NOT NULL DEFAULT 0, reported_at INTEGER,
  published_version INTEGER NOT NULL DEFAULT 0, published_at INTEGER, desired_block INTEGER
);
-- The outbox index (devices_unpublished) is created by migrateDevices, after older files got the columns.
CREATE TABLE IF NOT EXISTS device_commands (
  command_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, version INTEGER NOT NULL, desired TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`

/** The devices table of pbj's first release: no outbox columns at all. */
const firstDevicesTable = `
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY, desired TEXT, desired_version INTEGER NOT NULL DEFAULT 0, command_id TEXT,
  desired_at INTEGER, reported TEXT, reported_version INTEGER NOT NULL DEFAULT 0, reported_at INTEGER
);
`

const newPath = () => join(mkdtempSync(join(tmpdir(), 'pbj-migrate-')), 'pbj.db')
const versionOf = (path: string) => {
  const db = new Database(path, { readonly: true })
  try {
    return userVersion(db)
  } finally {
    db.close()
  }
}
const indexesOf = (db: Database.Database) =>
  db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices'",
    )
    .all()
    .map((r) => r.name)

describe('migrate', () => {
  it('brings a new file to the last migration once, and a second open runs none', () => {
    const db = new Database(':memory:')
    const latest = migrations.at(-1)?.version
    expect(migrate(db)).toEqual({ from: 0, to: latest })
    expect(userVersion(db)).toBe(latest)
    expect(migrate(db)).toEqual({ from: latest, to: latest })
    expect(indexesOf(db)).toEqual(expect.arrayContaining(['devices_unpublished', 'devices_unacknowledged']))
    db.close()
  })

  it('upgrades a file written before numbered migrations, keeping its rows', async () => {
    const path = newPath()
    const old = new Database(path)
    old.exec(unnumberedSchema)
    old
      .prepare(
        `INSERT INTO devices (device_id, desired, desired_version, command_id, desired_at, published_version, published_at)
         VALUES ('0xcar', '{"locked":true}', 1, 'job-1:0', 5, 1, 6)`,
      )
      .run()
    old.prepare("INSERT INTO kv (scope, key, value) VALUES ('f', 'k', '1')").run()
    old.close()
    expect(versionOf(path)).toBe(0)

    const store = createSqliteStore({ path })
    const device = await store.getDevice('0xcar')
    expect(device).toMatchObject({
      desired: { locked: true },
      desiredVersion: 1,
      publishedVersion: 1,
      corrections: 0,
    })
    await store.markCorrected('0xcar')
    expect((await store.getDevice('0xcar'))?.corrections).toBe(1)
    expect(await store.kvGet('f', 'k')).toBe('1')
    // The tables the relayer and the meter used to create on their own exist now.
    const row = await store.usage.record({
      runId: 'r1',
      jobId: 'j1',
      functionName: 'f',
      durationMs: 1,
      deviceMessages: 0,
      gasWei: 0n,
      amount: 7n,
      at: 1,
    })
    expect(row).toMatchObject({ seq: 1, amount: 7n, settlement: null })
    expect(await store.relayedTxs.list()).toEqual([])
    await store.close()
    expect(versionOf(path)).toBe(migrations.at(-1)?.version)
  })

  it('adds the outbox columns to a first-release devices table, so its devices are published again', async () => {
    const path = newPath()
    const old = new Database(path)
    old.exec(firstDevicesTable)
    old
      .prepare(
        `INSERT INTO devices (device_id, desired, desired_version, command_id, desired_at)
         VALUES ('0xcar', '{"locked":false}', 2, 'job-2:0', 5)`,
      )
      .run()
    old.close()

    const store = createSqliteStore({ path })
    const unpublished = await store.unpublishedDevices()
    expect(unpublished).toHaveLength(1)
    expect(unpublished[0]).toMatchObject({
      deviceId: '0xcar',
      desiredVersion: 2,
      publishedVersion: 0,
      publishedAt: null,
      desiredBlock: null,
      corrections: 0,
    })
    await store.markPublished('0xcar', 2, 7)
    expect(await store.unpublishedDevices()).toEqual([])
    await store.close()
  })

  it('refuses a file a newer pbj wrote, naming its version, and leaves it as it was', () => {
    const path = newPath()
    const newer = new Database(path)
    newer.pragma('user_version = 99')
    newer.close()

    let error: unknown
    try {
      createSqliteStore({ path })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DatabaseVersionError)
    expect((error as DatabaseVersionError).shortMessage).toBe(
      `database ${path} has schema version 99; this pbj knows up to ${migrations.at(-1)?.version}`,
    )
    expect((error as DatabaseVersionError).hint).toMatch(/newer one/)
    expect(versionOf(path)).toBe(99)
    const file = new Database(path, { readonly: true })
    expect(file.pragma('journal_mode', { simple: true })).toBe('delete')
    file.close()
  })

  it('applies a failing migration not at all: the steps before it are rolled back too', () => {
    const db = new Database(':memory:')
    const broken = {
      version: 2,
      description: 'fails half-way',
      up(d: Database.Database) {
        d.exec('CREATE TABLE half (x INTEGER)')
        throw new Error('disk full')
      },
    }
    expect(() => migrate(db, [initial, broken])).toThrow('disk full')
    expect(userVersion(db)).toBe(0)
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
    expect(tables).toEqual([])
    db.close()
  })
})
