import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { PbjConfig } from '../config/schema.js'
import type { Store } from '../core/store.js'
import { NoDatabaseError } from '../internal/errors.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'

/**
 * Opens the store of a project for the read-mostly commands (`runs`, `devices`, `usage`): the config's
 * `database`, else `.pbj/pbj.db` (`pbj start`) or `.pbj/dev.db` (`pbj dev`).
 *
 * @example
 * const store = openProjectStore('.', config)
 */
export function openProjectStore(dir: string, config: PbjConfig): Store {
  const database =
    config.database ?? join(dir, '.pbj', existsSync(join(dir, '.pbj', 'pbj.db')) ? 'pbj.db' : 'dev.db')
  if (!existsSync(database)) {
    throw new NoDatabaseError({ database })
  }
  return createSqliteStore({ path: database })
}
