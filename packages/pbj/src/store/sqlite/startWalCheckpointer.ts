import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

/** A running checkpointer. See {@link startWalCheckpointer}. */
export type WalCheckpointer = {
  /** Stops the thread and closes its connection; the engine's connection then checkpoints as usual. */
  close(): Promise<void>
}

/** How often the thread looks at how far the WAL is ahead of the database file. */
const defaultIntervalMs = 100

/**
 * WAL pages not yet in the database file from which the thread checkpoints: SQLite's own default. A
 * checkpoint syncs the WAL and the database file, and the engine's writes wait on those syncs' I/O: one
 * every 100 ms while a single car's blocks trickled in cost its lock ~0.5 ms p50 (bench single). Copying
 * pages in bulk also copies a page that many commits rewrote once.
 */
const defaultMinFrames = 1_000

/**
 * The engine's own checkpoints, a fallback: the thread keeps the WAL far below this, and should it stop
 * (it died, or cannot keep up) the engine's connection checkpoints once the WAL passes it. SQLite's default
 * (1,000 pages) comes back if the thread exits.
 */
const fallbackPages = 10_000
const sqliteDefaultPages = 1_000

// Plain CommonJS evaluated from this string: a worker thread cannot load TypeScript here. How far the WAL
// is ahead of the database file is read off the shared-memory index's header (`<db>-shm`: mxFrame at offset
// 16, nBackfill at 96, in the machine's byte order; see checkWalIntact), one small read per tick: a
// checkpoint is run only when there is enough to copy.
const workerSource = `
const { closeSync, openSync, readSync } = require('node:fs')
const { endianness } = require('node:os')
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.sqlite)
const db = new Database(workerData.path)
db.pragma('synchronous = NORMAL')
const header = Buffer.alloc(100)
const le = endianness() === 'LE'
const pending = () => {
  let fd
  try {
    fd = openSync(workerData.path + '-shm', 'r')
    if (readSync(fd, header, 0, header.length, 0) < header.length) return 0
    const u32 = (offset) => (le ? header.readUInt32LE(offset) : header.readUInt32BE(offset))
    return u32(16) - u32(96)
  } catch {
    return workerData.minFrames
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
let reported = false
const timer = setInterval(() => {
  if (pending() < workerData.minFrames) return
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
    reported = false
  } catch (error) {
    // A full disk, say: nothing is lost (the pages stay in the WAL), and the next tick tries again.
    if (!reported) parentPort.postMessage({ error: String(error && error.message) })
    reported = true
  }
}, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

/**
 * Moves the WAL's checkpoints off the engine's thread. SQLite checkpoints inside the commit that takes the
 * WAL past `wal_autocheckpoint` pages: it copies them into the database file and syncs it, holding the
 * thread that committed for 10–170 ms (measured during a 1,000-car block), while commands are going out.
 * Here a worker thread with a connection of its own runs a PASSIVE checkpoint when, looking every
 * `intervalMs`, it finds `minFrames` pages or more in the WAL not yet copied: it never waits for or blocks
 * the engine's readers and writer, and once it has copied everything the engine's next write starts the WAL
 * over from its beginning, so the file stays small. Durability is unchanged: a
 * commit is durable in the WAL (synchronous = NORMAL) whether or not it was checkpointed yet.
 *
 * The engine's connection keeps a checkpoint of its own as a fallback, at {@link fallbackPages}, and SQLite's
 * default again if the thread exits.
 *
 * @example
 * const checkpointer = startWalCheckpointer(db, '.pbj/pbj.db')
 * await checkpointer.close() // before db.close(), so that the engine's connection is the last one
 */
export function startWalCheckpointer(
  db: Database.Database,
  path: string,
  options: { intervalMs?: number; minFrames?: number; onError?: (message: string) => void } = {},
): WalCheckpointer {
  const require = createRequire(import.meta.url)
  db.pragma(`wal_autocheckpoint = ${fallbackPages}`)
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      sqlite: require.resolve('better-sqlite3'),
      path,
      intervalMs: options.intervalMs ?? defaultIntervalMs,
      minFrames: options.minFrames ?? defaultMinFrames,
    },
  })
  // It never keeps the process alive: the store's close stops it, and an exit without close ends it.
  worker.unref()
  let closing = false
  worker.on('message', (message: { error?: string }) => {
    if (message.error) options.onError?.(`WAL checkpoint failed: ${message.error}`)
  })
  worker.on('error', (error) => options.onError?.(`WAL checkpointer: ${error.message}`))
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      if (!closing && db.open) db.pragma(`wal_autocheckpoint = ${sqliteDefaultPages}`)
      resolve()
    })
  })
  return {
    async close() {
      if (closing) return exited
      closing = true
      // Held while it stops: an unref'd thread's exit would not keep the event loop alive for this promise.
      worker.ref()
      worker.postMessage('close')
      return exited
    },
  }
}
