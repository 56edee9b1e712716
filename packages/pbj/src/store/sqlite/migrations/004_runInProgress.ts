import type { Migration } from './types.js'

/**
 * A run in progress lives on its job's row (`run_id`, `run_started_at`, set by the write that starts it) and
 * its `runs` row is written once, whole, when it ends, together with the job's new state. Before, every run
 * inserted a `runs` row at its start and updated it at its end: one statement and one row rewrite more per
 * run (bench/runs/profileRunWrites.ts). Runs in progress are still listed (listRuns, getRun read them off
 * the jobs that are running), and one a crash cut short is recorded when its job starts again.
 */
export const runInProgress: Migration = {
  version: 4,
  description: "jobs.run_id, jobs.run_started_at: the job's run in progress",
  up(db) {
    db.exec(`
ALTER TABLE jobs ADD COLUMN run_id TEXT;
ALTER TABLE jobs ADD COLUMN run_started_at INTEGER;
`)
  },
}
