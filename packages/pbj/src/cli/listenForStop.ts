import type { Logger } from '../internal/logger.js'

/** What {@link listenForStop} returns. */
export type StopSignals = {
  /** Resolves with the first SIGINT or SIGTERM. */
  stopped: Promise<NodeJS.Signals>
  /**
   * Tells it the engine is running: from now on the first signal drains instead of exiting at once.
   * `abort` is called before a forced exit (see Engine.abort).
   */
  running(abort?: () => void): void
}

/**
 * A second signal closer than this to the first is the same stop asked twice, not an order to hurry: a
 * Ctrl-C reaches both bin/pbj.js and the engine (the terminal signals the whole process group), and the
 * wrapper forwards its copy too.
 */
const sameStopMs = 300
/** How long a forced exit waits after aborting the isolates. */
const forcedExitMs = 50

/**
 * How `pbj start` and `pbj dev` stop, as a supervisor expects (systemd's SIGTERM, then SIGKILL after its
 * timeout). Listens from the very start of the command:
 * - a signal while the engine is still starting: nothing is running to drain, so it exits 0 at once
 *   (whatever start-up opened dies with the process, and its children watch their parent);
 * - the first signal once it runs resolves `stopped`: the caller drains and returns 0;
 * - a second signal while draining exits at once with 1, logged, leaving what was in flight to the store
 *   (unfinished jobs re-run and undelivered commands go out at the next start).
 *
 * @example
 * const stop = listenForStop(logger)
 * const engine = await createEngine(options)
 * await engine.start()
 * stop.running()
 * await stop.stopped
 * await engine.stop()
 */
export function listenForStop(logger: Logger): StopSignals {
  let first: number | undefined
  let isRunning = false
  let abort: (() => void) | undefined
  let resolve: (signal: NodeJS.Signals) => void = () => undefined
  const stopped = new Promise<NodeJS.Signals>((r) => {
    resolve = r
  })
  const on = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = Date.now()
      if (!isRunning) {
        logger.warn(`${signal} during start-up: exiting`, { signal })
        process.exit(0)
      }
      logger.info(`${signal}: stopping (draining runs in flight and the device outbox)`, { signal })
      return resolve(signal)
    }
    if (Date.now() - first < sameStopMs) return
    logger.error(`${signal} again while stopping: exiting now`, { signal, exitCode: 1 })
    try {
      abort?.()
    } finally {
      // A moment for the isolates' runs to see the disposal before the process goes.
      setTimeout(() => process.exit(1), forcedExitMs)
    }
  }
  process.on('SIGINT', on)
  process.on('SIGTERM', on)
  return {
    stopped,
    running: (onForce) => {
      isRunning = true
      abort = onForce
    },
  }
}
