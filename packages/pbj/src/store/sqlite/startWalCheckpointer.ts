import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

/** A running checkpointer. See {@link startWalCheckpointer}. */
export type WalCheckpointer = {
  /** Stops the thread and closes its connection; the engine's connection then checkpoints as usual. */
  close(): Promise<void>
}

/** How often the thread copies the WAL's new pages into the database file. */
const defaultIntervalMs = 100

/**
 * The engine's own checkpoints, a fallback: the thread keeps the WAL far below this, and should it stop
 * (it died, or cannot keep up) the engine's connection checkpoints once the WAL passes it. SQLite's default
 * (1,000 pages) comes back if the thread exits.
 */
const fallbackPages = 10_000
const sqliteDefaultPages = 1_000

// Plain CommonJS evaluated from this string: a worker thread cannot load TypeScript here.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.sqlite)
const db = new Database(workerData.path)
db.pragma('synchronous = NORMAL')
let reported = false
const timer = setInterval(() => {
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
 * Here a worker thread with a connection of its own runs a PASSIVE checkpoint every `intervalMs`: it never
 * waits for or blocks the engine's readers and writer, and once it has copied everything the engine's
 * next write starts the WAL over from its beginning, so the file stays small. Durability is unchanged: a
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
  options: { intervalMs?: number; onError?: (message: string) => void } = {},
): WalCheckpointer {
  const require = createRequire(import.meta.url)
  db.pragma(`wal_autocheckpoint = ${fallbackPages}`)
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      sqlite: require.resolve('better-sqlite3'),
      path,
      intervalMs: options.intervalMs ?? defaultIntervalMs,
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
