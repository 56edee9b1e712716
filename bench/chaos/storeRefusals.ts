import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import Database from 'better-sqlite3'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { exitCodes, expectRefusal, startEngine, waitRunning } from './lib/steps.js'

/**
 * A store with garbage in one of its pages (the root page of the `blocks` table, so the check must see it):
 * `pbj start` refuses it with exit 4 within 1 s of its message. The store is made by pbj's own store code
 * in this process (a first engine run would only add start-up time).
 */
export const damagedDatabase: Scenario = {
  name: 'damaged-database',
  timeoutMs: 60_000,
  checks: 'a damaged database (garbage in a page): refused, exit 4 within 1 s, a message',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 1 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig()
    // A real pbj store (pbj's own migrations), with a few hundred blocks recorded, closed cleanly.
    const store = createSqliteStore({ path: stack.database })
    await store.close()
    const db = new Database(stack.database)
    const insert = db.prepare(
      'INSERT INTO blocks (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)',
    )
    const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
    db.transaction(() => {
      for (let n = 1; n <= 400; n++)
        insert.run(stack.anvil.chainId, n, hash(n), hash(n - 1), 1_700_000_000 + n)
    })()
    db.close()
    damagePage(stack.database, 'blocks')
    // The injection itself must have worked: SQLite's own check sees the damage.
    ctx.expect(quickCheck(stack.database) !== 'ok', 'the garbage written did not damage the database')
    const engine = startEngine(ctx, stack.dir, 'damaged')
    await expectRefusal(ctx, engine, {
      label: 'damaged database',
      code: exitCodes.store,
      message: /integrity|damaged|corrupt|malformed|not a database/i,
      waitMs: 20_000,
    })
  },
}

/**
 * kill -9 of the whole tree while it writes, then the write-ahead log deleted (the database file is older
 * than the state it had): `pbj start` refuses with exit 4 within 1 s of its message.
 */
export const missingWal: Scenario = {
  name: 'missing-wal',
  timeoutMs: 90_000,
  checks: 'a deleted -wal after kill -9: refused, exit 4 within 1 s, a message',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig()
    const engine = startEngine(ctx, stack.dir, 'first')
    if (!(await waitRunning(ctx, engine, 'first'))) return
    await stack.walkToLock(1000)
    await stack.waitForCars((c) => !c.payer, 20_000)
    engine.tree.scan()
    engine.tree.killAll()
    await engine.exit
    const wal = `${stack.database}-wal`
    const size = existsSync(wal) ? statSync(wal).size : 0
    if (!ctx.expect(size > 0, `no write-ahead log (${wal}) to delete after kill -9`)) return
    ctx.log(`deleting ${wal} (${size} bytes)`)
    rmSync(wal)
    const again = startEngine(ctx, stack.dir, 'no wal')
    await expectRefusal(ctx, again, {
      label: 'missing wal',
      code: exitCodes.store,
      message: /write-ahead|\bwal\b|-wal/i,
      waitMs: 20_000,
    })
  },
}

/**
 * Writes random bytes over the root page of `table` (checkpointed first, so the page is in the file), as a
 * bad sector or a stray write would.
 */
function damagePage(path: string, table: string) {
  const db = new Database(path)
  db.pragma('wal_checkpoint(TRUNCATE)')
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const root = (
    db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number }
  ).rootpage
  db.close()
  for (const f of [`${path}-wal`, `${path}-shm`]) rmSync(f, { force: true })
  const fd = openSync(path, 'r+')
  try {
    writeSync(fd, randomBytes(pageSize), 0, pageSize, (root - 1) * pageSize)
  } finally {
    closeSync(fd)
  }
}

/** SQLite's quick_check of the file: 'ok', or its first complaint (or the error opening it). */
function quickCheck(path: string): string {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true })
    try {
      return String(db.pragma('quick_check', { simple: true }))
    } finally {
      db.close()
    }
  } catch (error) {
    return (error as Error).message
  }
}
