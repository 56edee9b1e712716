import type { Migration } from './types.js'

/**
 * The record of chain-level reconciliation: one row per difference a pass found between a device's stored
 * desired state and what the chain says, with what came of it (corrected, refused by the guard, failed).
 * Kept so an operator can see why a car changed state without a function asking (`pbj devices --corrections`).
 */
export const deviceCorrections: Migration = {
  version: 3,
  description: 'device_corrections: what chain-level reconciliation found and did',
  up(db) {
    db.exec(`
CREATE TABLE IF NOT EXISTS device_corrections (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, at INTEGER NOT NULL,
  block_number INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, reason TEXT NOT NULL,
  outcome TEXT NOT NULL, version INTEGER, detail TEXT
);
CREATE INDEX IF NOT EXISTS device_corrections_by_device ON device_corrections (device_id, seq);
`)
  },
}
