import type { Migration } from './types.js'

/**
 * The schema as numbered migrations found it. Every statement is `IF NOT EXISTS`: a file from before
 * numbered migrations (user_version 0) has some or all of these tables already, and keeps them as they are.
 * Bigints (block numbers, timestamps) are INTEGERs where they fit 64 bits; token amounts and wei are
 * decimal TEXT (they overflow it).
 */
export const initial: Migration = {
  version: 1,
  description: 'blocks, jobs, runs, timers, conditions, kv, devices, relayed transactions, usage',
  up(db) {
    db.exec(`
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
-- The outbox columns' indexes (devices_unpublished, devices_unacknowledged) and corrections: migration 2.
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY, desired TEXT, desired_version INTEGER NOT NULL DEFAULT 0, command_id TEXT,
  desired_at INTEGER, reported TEXT, reported_version INTEGER NOT NULL DEFAULT 0, reported_at INTEGER,
  published_version INTEGER NOT NULL DEFAULT 0, published_at INTEGER, desired_block INTEGER
);
CREATE TABLE IF NOT EXISTS device_commands (
  command_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, version INTEGER NOT NULL, desired TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- The relayer's: one row per intent (its current attempt inline) and one per signed attempt.
CREATE TABLE IF NOT EXISTS relayed_txs (
  key TEXT PRIMARY KEY, kind TEXT NOT NULL, chain_id INTEGER NOT NULL, sender TEXT NOT NULL,
  nonce INTEGER NOT NULL, to_address TEXT NOT NULL, data TEXT NOT NULL, value TEXT NOT NULL, gas TEXT NOT NULL,
  max_fee TEXT NOT NULL, priority_fee TEXT NOT NULL, hash TEXT NOT NULL, raw TEXT NOT NULL, status TEXT NOT NULL,
  confirmation TEXT NOT NULL, attempts INTEGER NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER,
  sent_block INTEGER, mined_at INTEGER, mined_block INTEGER, receipt TEXT, final INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
CREATE INDEX IF NOT EXISTS relayed_txs_open ON relayed_txs (chain_id, sender, nonce) WHERE final = 0;
CREATE TABLE IF NOT EXISTS relayed_tx_attempts (
  hash TEXT PRIMARY KEY, key TEXT NOT NULL, nonce INTEGER NOT NULL, raw TEXT NOT NULL, max_fee TEXT NOT NULL,
  priority_fee TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS relayed_tx_attempts_by_key ON relayed_tx_attempts (key);
-- Metered usage of runs (payment/) and the settlements that charged it.
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
`)
  },
}
