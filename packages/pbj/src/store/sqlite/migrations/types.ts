import type { Database } from 'better-sqlite3'

/**
 * One step of the database schema. `version` is the `PRAGMA user_version` a file has once `up` ran; `up`
 * runs inside the transaction that opens the file (see migrate), so a step is applied wholly or not at all.
 */
export type Migration = { version: number; description: string; up(db: Database): void }
