import type { Migration } from './types.js'

/** Columns the devices table gained after its first release, with their definitions. */
const added: Record<string, string> = {
  published_version: 'INTEGER NOT NULL DEFAULT 0',
  published_at: 'INTEGER',
  desired_block: 'INTEGER',
  corrections: 'INTEGER NOT NULL DEFAULT 0',
}

/**
 * The device outbox: brings a devices table from an older pbj up to date and creates the outbox indexes.
 * Columns are added only where missing: a file from before numbered migrations may have some of them
 * already (migration 1 leaves an existing table as it was). Rows of an older file start at
 * `published_version` 0: they are published once more at start, which a device that has them ignores.
 */
export const deviceOutbox: Migration = {
  version: 2,
  description: 'devices: published version, desired block and corrections; outbox indexes',
  up(db) {
    const columns = new Set(
      db
        .prepare<[], { name: string }>('PRAGMA table_info(devices)')
        .all()
        .map((c) => c.name),
    )
    for (const [name, definition] of Object.entries(added)) {
      if (!columns.has(name)) db.exec(`ALTER TABLE devices ADD COLUMN ${name} ${definition}`)
    }
    // Partial: it holds only the devices still to deliver, so sweeping a big idle fleet costs nothing.
    db.exec(
      `CREATE INDEX IF NOT EXISTS devices_unpublished ON devices (device_id)
       WHERE desired_version > published_version`,
    )
    // Likewise for reconciliation: only the devices that have not reported their desired version.
    db.exec(
      `CREATE INDEX IF NOT EXISTS devices_unacknowledged ON devices (device_id)
       WHERE reported_version < desired_version`,
    )
  },
}
