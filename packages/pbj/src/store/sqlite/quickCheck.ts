import { messageOf } from '@pbj/internal/messageOf.js'
import type { Database } from 'better-sqlite3'
import { DatabaseCorruptError } from '../../internal/errors.js'

/**
 * SQLite's `PRAGMA quick_check` at open: every page and record well formed (no index-to-table
 * cross-check, which `integrity_check` adds at several times the cost). A damaged file refuses to start
 * with DatabaseCorruptError instead of processing blocks against state pbj did not write. It reports at
 * most `maxErrors` problems; the message keeps the first.
 *
 * @example
 * quickCheck(db) // throws DatabaseCorruptError on a damaged page
 */
export function quickCheck(db: Database, maxErrors = 10): void {
  let rows: { quick_check: string }[]
  try {
    rows = db.pragma(`quick_check(${maxErrors})`) as { quick_check: string }[]
  } catch (cause) {
    // A header or root page damaged badly enough that the check itself cannot run.
    throw new DatabaseCorruptError({ database: db.name, problem: messageOf(cause), cause })
  }
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok')
  if (problems.length > 0)
    throw new DatabaseCorruptError({
      database: db.name,
      problem: problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more)` : `${problems[0]}`,
    })
}
