import { walk } from '../internal/errors.js'

/**
 * The codes of a write refused for want of space: SQLite's own (`SQLITE_FULL`), the I/O errors it reports
 * when the OS refuses a write, a sync or the growth of its shared-memory index on a full filesystem, and
 * the OS's `ENOSPC` (a probe or file write of pbj's own).
 */
const diskFullCodes = new Set([
  'SQLITE_FULL',
  'SQLITE_IOERR_WRITE',
  'SQLITE_IOERR_FSYNC',
  'SQLITE_IOERR_SHMSIZE',
  'SQLITE_IOERR_TRUNCATE',
  'ENOSPC',
])

/**
 * Whether a thrown value (or one of its causes) is a write refused because the filesystem is full. A read
 * error is not one: freeing space would not help it.
 *
 * @example
 * isDiskFull(sqliteErrorWithCode('SQLITE_FULL')) // true
 */
export function isDiskFull(error: unknown): boolean {
  return (
    walk(error, (e) => {
      const code = (e as { code?: unknown } | null)?.code
      return typeof code === 'string' && diskFullCodes.has(code)
    }) !== null
  )
}
