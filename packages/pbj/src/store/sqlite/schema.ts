/** The SQLite schema. Bigints (block numbers, timestamps) are stored as TEXT-free INTEGERs where they fit 64 bits. */
export const schema = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
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
