/**
 * What an engine undoes when it stops (Ponder's `common.shutdown`): each part that opens something registers
 * how to close it, and `kill` closes them in the order they were added, once.
 */
export type Shutdown = {
  /** Registers a cleanup; it runs when the shutdown is killed. */
  add(cleanup: () => unknown): void
  /** True once `kill` was called: work that sees it stops starting new things. */
  readonly isKilled: boolean
  /** Runs every cleanup in order (each awaited); later calls wait for the first. */
  kill(): Promise<void>
}

/**
 * @example
 * const shutdown = createShutdown()
 * shutdown.add(() => clearInterval(poll))
 * await shutdown.kill()
 */
export function createShutdown(): Shutdown {
  const cleanups: (() => unknown)[] = []
  let killed: Promise<void> | null = null
  return {
    add: (cleanup) => void cleanups.push(cleanup),
    get isKilled() {
      return killed !== null
    },
    kill() {
      killed ??= (async () => {
        for (const cleanup of cleanups) await cleanup()
      })()
      return killed
    },
  }
}
