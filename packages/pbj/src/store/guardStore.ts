import type { Store } from '../core/store.js'
import type { DiskFullWatch } from './createDiskFullWatch.js'

/**
 * Runs `fn`; while it fails because the disk is full, reports it to the watch and runs it again once space
 * returns. Safe for the store's writes: each is one SQLite transaction (a block's jobs, timers and cursor
 * together), rolled back whole when it fails, so running it again neither loses nor doubles anything.
 *
 * @example
 * const store = await whileDiskFull(watch, () => createSqliteStore({ path, engine: true }))
 */
export async function whileDiskFull<T>(watch: DiskFullWatch, fn: () => T | Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (!watch.report(error)) throw error
      await watch.writable()
    }
  }
}

/** After `fn` failed with `error`: rethrows anything but a full disk, else waits for space and runs it again. */
async function afterFailure<T>(watch: DiskFullWatch, error: unknown, fn: () => T | Promise<T>): Promise<T> {
  if (!watch.report(error)) throw error
  await watch.writable()
  return whileDiskFull(watch, fn)
}

/**
 * {@link whileDiskFull} for one store call, without its cost when nothing fails: the call's own promise
 * gets one rejection handler, where an async wrapper adds a promise, a closure and two turns of awaits to
 * every call (every run makes three store calls; bench/runs measures them). The call is made again only
 * after a full disk.
 */
function guardCall(
  watch: DiskFullWatch,
  target: object,
  method: (...args: unknown[]) => unknown,
  args: unknown[],
): unknown {
  let result: unknown
  try {
    result = method.apply(target, args)
  } catch (error) {
    return afterFailure(watch, error, () => method.apply(target, args))
  }
  if (!(result instanceof Promise)) return result
  return result.then(undefined, (error: unknown) =>
    afterFailure(watch, error, () => method.apply(target, args)),
  )
}

/**
 * The store the engine's stages use: every call of `store` (and of its `relayedTxs` and `usage`) that
 * fails on a full disk waits for space and runs again (see {@link whileDiskFull}). So a full disk pauses
 * the follower inside its block's commit (the cursor unmoved), holds a run's record until it can be
 * written (the run is not repeated), and no SqliteError escapes; the watch reports the episode. `close` is
 * passed through.
 *
 * @example
 * const store = guardStore(createSqliteStore({ path, engine: true }), watch)
 */
export function guardStore(store: Store, watch: DiskFullWatch): Store {
  return {
    ...wrapMethods(store, watch),
    relayedTxs: wrapMethods(store.relayedTxs, watch),
    usage: wrapMethods(store.usage, watch),
    close: () => store.close(),
  }
}

function wrapMethods<T extends object>(target: T, watch: DiskFullWatch): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(target))
    out[key] =
      typeof value === 'function' ? (...args: unknown[]) => guardCall(watch, target, value, args) : value
  return out as T
}
