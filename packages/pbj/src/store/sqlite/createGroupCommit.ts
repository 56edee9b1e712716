import type { Database } from 'better-sqlite3'

type Write = { apply: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }

/** Queues writes and commits them together; see {@link createGroupCommit}. */
export type GroupCommit = <T>(apply: () => T) => Promise<T>

/**
 * Group commit: writes asked for during one turn of the event loop are applied in one SQLite transaction,
 * so many jobs' state changes cost one commit instead of one each. Each write resolves only once its
 * transaction has committed (durable as before, just shared). When a write throws, the group is rolled
 * back and each write is applied again in a transaction of its own, so only the failing one is rejected.
 * A write is applied when its turn ends, which is as if it had been asked for a moment later: callers
 * await it before relying on it.
 *
 * @example
 * const write = createGroupCommit(db)
 * await write(() => setStatus.run('done', jobId)) // committed with the other writes of this turn
 */
export function createGroupCommit(db: Database): GroupCommit {
  let queued: Write[] = []
  const all = db.transaction((writes: Write[]) => writes.map((w) => w.apply()))
  const one = db.transaction((w: Write) => w.apply())
  const flush = () => {
    const writes = queued
    queued = []
    let results: unknown[]
    try {
      results = all(writes)
    } catch {
      for (const w of writes) {
        try {
          w.resolve(one(w))
        } catch (error) {
          w.reject(error)
        }
      }
      return
    }
    for (const [i, w] of writes.entries()) w.resolve(results[i])
  }
  return <T>(apply: () => T) =>
    new Promise<T>((resolve, reject) => {
      // setImmediate runs after this turn's I/O callbacks: every run that ended in this turn joins.
      if (queued.length === 0) setImmediate(flush)
      queued.push({ apply, resolve: resolve as (value: unknown) => void, reject })
    })
}
