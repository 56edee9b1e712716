import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { ponderAppDir } from './installPonderApp.js'

/** Where Ponder keeps its tables for one run, and how to throw them away afterwards. */
export type PonderDatabase = {
  /** What the Ponder app's config reads: a PostgreSQL URL, or a directory for PGlite. */
  env: { PBJ_BENCH_PONDER_DATABASE_URL?: string; PBJ_BENCH_PONDER_PGLITE_DIR?: string }
  /** For the result's notes: which database, and why PGlite if it is PGlite. */
  description: string
  drop(): Promise<void>
}

/** The subset of node-postgres used here (the `pg` package comes with the Ponder app, untyped at the root). */
type PgClient = { connect(): Promise<void>; query(sql: string): Promise<unknown>; end(): Promise<void> }
type Pg = { Client: new (config: { connectionString: string; connectionTimeoutMillis: number }) => PgClient }

/**
 * A fresh, empty database for one Ponder run: `CREATE DATABASE pbj_bench_ponder_…` on the machine's
 * PostgreSQL (`PBJ_BENCH_PONDER_POSTGRES_URL`, default `postgresql://<user>@127.0.0.1:5432/test`, trust auth),
 * dropped again by `drop()`, so nothing lands in the shared `test` database and no run reads another's
 * `ponder_sync` cache. PostgreSQL rather than PGlite because PGlite runs in Ponder's own event loop: here it
 * took 14–36 s to start (vs ~10 s) and held each published command back by ~20 ms. Falls back to PGlite in
 * a temporary directory when PostgreSQL cannot be used, saying why in `description`.
 *
 * @example
 * const database = await createPonderDatabase()
 * spawn(ponder, ['start'], { env: { ...process.env, ...database.env } })
 * await database.drop()
 */
export async function createPonderDatabase(): Promise<PonderDatabase> {
  const adminUrl =
    process.env.PBJ_BENCH_PONDER_POSTGRES_URL ?? `postgresql://${userInfo().username}@127.0.0.1:5432/test`
  const name = `pbj_bench_ponder_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  let pgError: string
  try {
    const { Client } = createRequire(join(ponderAppDir, 'package.json'))('pg') as Pg
    const admin = async (sql: string) => {
      const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 })
      await client.connect()
      try {
        await client.query(sql)
      } finally {
        await client.end()
      }
    }
    await admin(`CREATE DATABASE ${name}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return {
      env: { PBJ_BENCH_PONDER_DATABASE_URL: url.href },
      description: `PostgreSQL (database ${name} on ${url.host}, dropped afterwards)`,
      // FORCE: Ponder's pool may still hold connections for a moment after its process was killed.
      drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    }
  } catch (error) {
    pgError = error instanceof Error ? error.message : String(error)
  }
  const directory = mkdtempSync(join(tmpdir(), 'pbj-bench-ponder-'))
  return {
    env: { PBJ_BENCH_PONDER_PGLITE_DIR: directory },
    description: `PGlite (PostgreSQL at ${new URL(adminUrl).host} unusable: ${pgError})`,
    drop: async () => rmSync(directory, { recursive: true, force: true }),
  }
}
