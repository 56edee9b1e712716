import { PbjError, StoreRefusedError } from '../../internal/errors.js'

/**
 * The database file was written by a newer pbj: its `user_version` is past the last migration this pbj
 * knows. Opening it anyway could misread tables a later migration changed, so the store refuses.
 */
export class DatabaseVersionError extends StoreRefusedError {
  override name = 'DatabaseVersionError'
  constructor(options: { path: string; version: number; latest: number }) {
    super(
      `database ${options.path} has schema version ${options.version}; this pbj knows up to ${options.latest}`,
      {
        details: 'It was written by a newer pbj, whose migrations this one does not have.',
        hint: 'Run the pbj that wrote it (or a newer one), or point the database option at another file.',
        meta: { ...options },
      },
    )
  }
}

/**
 * A column read back from the database does not hold what pbj wrote there (a JSON column that does not
 * parse or has the wrong shape): the file was changed outside pbj or is damaged.
 */
export class CorruptRowError extends PbjError {
  override name = 'CorruptRowError'
  constructor(options: { column: string; cause: unknown }) {
    super(`database column ${options.column} holds a value pbj did not write`, {
      hint: 'Restore the database from a backup, or start with a new file (pbj re-follows the chain).',
      meta: { column: options.column },
      cause: options.cause,
    })
  }
}

/**
 * A row a statement has just written (or found) is not there when read back in the same transaction:
 * the caller asked about a key that was never recorded (an attempt for a transaction never inserted).
 */
export class MissingRowError extends PbjError {
  override name = 'MissingRowError'
  constructor(options: { table: string; key: string }) {
    super(`${options.table} has no row ${options.key}`, { meta: { ...options } })
  }
}
