// The store at open (issue 12): one engine per database (an OS lock that dies with its holder), a damaged
// file refused by quick_check, a deleted write-ahead log refused before SQLite silently recreates it, and
// the CLI's read-mostly opens unaffected by any of it. Real files, real child processes, kill -9.
import { type ChildProcess, spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import {
  DatabaseCorruptError,
  StoreLockedError,
  StoreRefusedError,
  WalMissingError,
} from '#pbj/internal/errors.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { runPbj } from './helpers/runPbj.js'

const root = mkdtempSync(join(tmpdir(), 'pbj-store-open-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})
let n = 0
const freshDb = () => join(root, `p${++n}`, '.pbj', 'pbj.db')

/** Starts holdStore.ts on `path`; resolves with the child and its first line (`ready` or `refused …`). */
function hold(path: string, rows = 0): Promise<{ child: ChildProcess; line: string }> {
  const script = fileURLToPath(new URL('./fixtures/holdStore.ts', import.meta.url))
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, path, String(rows)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line !== undefined) resolve({ child, line })
    })
    child.once('exit', (code) => reject(new Error(`holdStore exited ${code} before a line: ${out}`)))
  })
}
const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })

describe('one engine per database', () => {
  it('a second engine in another process refuses, naming the pid; after kill -9 of the first one starts', async () => {
    const path = freshDb()
    const first = await hold(path)
    expect(first.line).toBe('ready')
    const second = await hold(path)
    expect(second.line).toContain('refused StoreLockedError')
    expect(second.line).toContain(`pid ${first.child.pid}`)
    // In this process too.
    const error = (() => {
      try {
        createSqliteStore({ path, engine: true })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(StoreLockedError)
    expect(error).toBeInstanceOf(StoreRefusedError)
    expect((error as Error).message).toContain(path)
    expect((error as Error).message).toContain('Fix: Stop the other engine')
    // The CLI's read-mostly open is not locked out while the engine runs.
    const runs = await runPbj('runs', '--dir', join(path, '..', '..'), '--json')
    expect(runs.code).toBe(0)
    await killed(first.child)
    const third = await hold(path)
    expect(third.line).toBe('ready')
    await killed(third.child)
  })

  it('two engines in one process: the second refuses until the first closes', async () => {
    const path = freshDb()
    const a = createSqliteStore({ path, engine: true })
    expect(() => createSqliteStore({ path, engine: true })).toThrow(StoreLockedError)
    await a.close()
    const b = createSqliteStore({ path, engine: true })
    await b.close()
  })
})

describe('integrity at open', () => {
  it('refuses a database with a damaged page and says what to do', async () => {
    const path = freshDb()
    const store = createSqliteStore({ path, engine: true })
    for (let i = 0; i < 2_000; i++)
      await store.kvSet('f', `key${i}`, JSON.stringify({ i, pad: 'x'.repeat(200) }))
    await store.close()
    expect(existsSync(`${path}-wal`)).toBe(false)
    const pageSize = 4096
    const pages = statSync(path).size / pageSize
    // Garbage over a page in the middle of the kv table: its b-tree page header no longer parses.
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, Math.floor(pages / 2) * pageSize)
    closeSync(fd)
    let error: unknown
    try {
      createSqliteStore({ path, engine: true })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DatabaseCorruptError)
    expect(error).toBeInstanceOf(StoreRefusedError)
    const message = (error as Error).message
    expect(message).toContain(path)
    expect(message).toMatch(/is damaged: .+/)
    expect(message).toContain('docs/operations.md#back-up-and-restore')
    expect(message).toContain('move')
    // The refused open left the lock free: after moving the file aside, an engine starts afresh.
    for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) rmSync(f)
    const fresh = createSqliteStore({ path, engine: true })
    expect(await fresh.getCursor(1)).toBeNull()
    await fresh.close()
  })

  it('refuses a database whose -wal was deleted after a kill -9, and opens one whose -wal is there', async () => {
    const path = freshDb()
    await createSqliteStore({ path }).close()
    const { child } = await hold(path, 50)
    await killed(child)
    expect(existsSync(`${path}-wal`)).toBe(true)
    expect(existsSync(`${path}-shm`)).toBe(true)
    // The -wal intact (a plain crash): opens, and the writes of the killed process are all there.
    const copy = join(root, 'copy')
    rmSync(copy, { recursive: true, force: true })
    const { cpSync } = await import('node:fs')
    cpSync(join(path, '..'), copy, { recursive: true })
    const intact = createSqliteStore({ path: join(copy, 'pbj.db'), engine: true })
    expect(await intact.kvGet('held', 'k49')).toBe(JSON.stringify({ i: 49 }))
    await intact.close()
    // The -wal deleted: refused before SQLite could recreate it empty.
    unlinkSync(`${path}-wal`)
    expect(() => createSqliteStore({ path, engine: true })).toThrow(WalMissingError)
    let error: unknown
    try {
      createSqliteStore({ path })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(WalMissingError)
    expect((error as Error).message).toContain(`${path}-wal`)
    expect((error as Error).message).toContain('restore from a backup')
    // Nothing was changed by the refusals: the -wal is still missing, the -shm still there.
    expect(existsSync(`${path}-wal`)).toBe(false)
    expect(existsSync(`${path}-shm`)).toBe(true)
  })

  it('a clean database opens, and a cleanly closed one leaves no -shm behind', async () => {
    const path = freshDb()
    const store = createSqliteStore({ path, engine: true })
    await store.kvSet('f', 'a', '1')
    await store.close()
    expect(existsSync(`${path}-shm`)).toBe(false)
    const again = createSqliteStore({ path, engine: true })
    expect(await again.kvGet('f', 'a')).toBe('1')
    await again.close()
    // A plain reader's view agrees.
    const db = new Database(path, { readonly: true })
    expect(db.pragma('quick_check', { simple: true })).toBe('ok')
    db.close()
  })
})
