import { mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreLockedError } from '../../internal/errors.js'

/** The engine's hold on its database; {@link StoreLock.release} lets the next engine take it. */
export type StoreLock = {
  lockFile: string
  release(): void
}

/**
 * Takes the one-engine-per-database lock: a sidecar SQLite file `<database>.lock` opened in exclusive
 * locking mode, with a write committed so the connection keeps its exclusive lock until it closes. SQLite's
 * locks are the OS's (fcntl), which die with the process however it dies (kill -9 included), and SQLite
 * also refuses a second connection in the same process; the database itself is never locked, so the
 * read-only CLI commands still open it while the engine runs. The holder's pid is written as the lock
 * file's `user_version`, which a refused engine reads from the file's header (bytes 60–63) to name it.
 *
 * @example
 * const lock = acquireStoreLock('.pbj/pbj.db') // throws StoreLockedError while another engine runs
 * lock.release()
 */
export function acquireStoreLock(database: string): StoreLock {
  const lockFile = `${database}.lock`
  const db = new Database(lockFile, { timeout: 0 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('journal_mode = MEMORY')
    // Exclusive locking mode keeps the lock this write takes after its commit, for the connection's life.
    db.exec('BEGIN EXCLUSIVE')
    db.pragma(`user_version = ${process.pid}`)
    db.exec('COMMIT')
  } catch (error) {
    db.close()
    if (isBusy(error)) throw new StoreLockedError({ database, lockFile, pid: holderOf(lockFile) })
    throw error
  }
  // Held here, not only by the store: a connection the garbage collector finalizes would drop the lock.
  held.add(db)
  return {
    lockFile,
    release: () => {
      held.delete(db)
      if (db.open) db.close()
    },
  }
}

/**
 * Refuses at once (StoreLockedError) when another engine holds `database`, without keeping the lock: a
 * command checks this before it starts anything of its own (pbj start's health server would otherwise fail
 * first, on the running engine's port; pbj dev's fresh start would delete the running engine's files). The
 * engine takes the lock for real when it opens the store.
 *
 * @example
 * assertStoreFree('.pbj/pbj.db')
 */
export function assertStoreFree(database: string): void {
  if (database === ':memory:') return
  mkdirSync(dirname(database), { recursive: true })
  acquireStoreLock(database).release()
}

/** The lock connections of this process, kept alive until released. */
const held = new Set<Database.Database>()

const isBusy = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}

/** The pid the holder wrote into the lock file's header (`user_version`, big-endian at offset 60), if any. */
function holderOf(lockFile: string): number | null {
  try {
    const header = readFileSync(lockFile).subarray(0, 100)
    const pid = header.length >= 64 ? header.readUInt32BE(60) : 0
    return pid > 0 ? pid : null
  } catch {
    return null
  }
}
