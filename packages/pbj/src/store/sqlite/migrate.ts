import type { Database } from 'better-sqlite3'
import { DatabaseVersionError } from './errors.js'
import { initial } from './migrations/001_initial.js'
import { deviceOutbox } from './migrations/002_deviceOutbox.js'
import { deviceCorrections } from './migrations/003_deviceCorrections.js'
import { runInProgress } from './migrations/004_runInProgress.js'
import type { Migration } from './migrations/types.js'

/** Every migration, in order. A schema change is a new file here, never an edit of an applied one. */
export const migrations: readonly Migration[] = [initial, deviceOutbox, deviceCorrections, runInProgress]

/**
 * Brings a database file up to the last migration, once, at open: the steps above its `PRAGMA user_version`
 * run in one transaction that also sets it, so a crash leaves the file at its old version or the new one.
 * A file newer than this pbj knows is refused (DatabaseVersionError) rather than misread.
 *
 * @example
 * migrate(new Database('.pbj/pbj.db')) // { from: 0, to: 3 } on a fresh file, { from: 3, to: 3 } after
 */
export function migrate(
  db: Database,
  steps: readonly Migration[] = migrations,
): { from: number; to: number } {
  const latest = steps.at(-1)?.version ?? 0
  const check = () => {
    const from = userVersion(db)
    if (from > latest) throw new DatabaseVersionError({ path: db.name, version: from, latest })
    return from
  }
  // An up-to-date file (every open but the first) takes no write lock: a CLI command opening the engine's
  // file while it runs does not wait for it.
  const current = check()
  if (current === latest) return { from: current, to: current }
  const apply = db.transaction(() => {
    // Read again under the lock: another process may have migrated the file in between.
    const from = check()
    for (const step of steps) if (step.version > from) step.up(db)
    if (from < latest) db.pragma(`user_version = ${latest}`)
    return { from, to: latest }
  })
  // Immediate: two processes opening one old file do not both start migrating it.
  return apply.immediate()
}

/** The file's schema version (0: new, or written before numbered migrations). */
export function userVersion(db: Database): number {
  return Number(db.pragma('user_version', { simple: true }))
}
