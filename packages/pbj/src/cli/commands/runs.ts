import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../config/loadConfig.js'
import { PbjError } from '../../internal/errors.js'
import { toJsonLine } from '../../internal/toJsonLine.js'
import { createSqliteStore } from '../../store/sqlite/createSqliteStore.js'
import type { Run } from '../../store/types.js'

/**
 * `pbj runs`: the latest runs in the project's store, with status, timing and error.
 *
 * @example
 * await runsCommand({ dir: '.', status: 'failed' })
 */
export async function runsCommand(o: {
  dir?: string
  function?: string
  status?: string
  limit?: string
  json?: boolean
}) {
  const dir = o.dir ?? process.cwd()
  const { config } = await loadConfig(dir)
  const database = config.database ?? join(dir, '.pbj', 'dev.db')
  if (!existsSync(database)) {
    throw new PbjError(`No pbj database at ${database}`, {
      hint: 'Run `pbj dev` in this folder first, or set database in pbj.config.ts.',
    })
  }
  if (o.status && o.status !== 'ok' && o.status !== 'failed' && o.status !== 'running') {
    throw new PbjError(`--status must be ok, failed or running; got ${o.status}`)
  }
  const store = createSqliteStore({ path: database })
  const runs = await store.listRuns({
    ...(o.function ? { functionName: o.function } : {}),
    ...(o.status ? { status: o.status as Run['status'] } : {}),
    limit: Number(o.limit ?? 20),
  })
  await store.close()
  for (const r of runs) {
    process.stdout.write(
      o.json
        ? toJsonLine(r)
        : `${new Date(r.startedAt).toISOString()}  ${r.functionName.padEnd(24)} ${r.status.padEnd(7)} ${(r.durationMs === null ? '-' : r.durationMs.toFixed(1)).padStart(8)} ms  ${r.error ? `${r.error.reason ?? r.error.name}: ${r.error.message}` : ''}\n`,
    )
  }
  return 0
}
