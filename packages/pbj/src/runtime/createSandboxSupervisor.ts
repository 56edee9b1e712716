import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { SandboxDisposedError, SandboxLostError } from '../internal/errors.js'
import { createSandboxChild, type SandboxChild } from './createSandboxChild.js'

/**
 * Keeps one sandbox process alive: starts it when asked, and when it dies fails what it had in flight with
 * SandboxCrashedError (which the engine retries) and starts the next, with a pause that doubles while it
 * keeps dying. See {@link createSandboxSupervisor}.
 *
 * @example
 * const child = await supervisor.liveChild()
 * await child.ready
 */
export type SandboxSupervisor = {
  /** The running child, or a new one: at once after one crash, then after a pause that doubles. */
  liveChild(): Promise<SandboxChild>
  /** The current child, if one was started and has not died. */
  current(): SandboxChild | undefined
  isDisposed(): boolean
  /** Kills the child and fails what it had in flight; a child still waiting to start never starts. */
  dispose(): void
}

/**
 * Options of {@link createSandboxSupervisor}.
 *
 * @example
 * const options: SandboxSupervisorOptions = { defaults, onReady: (child) => reload(child), wanted: () => true }
 */
export type SandboxSupervisorOptions = {
  /** The memory and timeout of a run whose function sets none. */
  defaults: { memoryMb: number; timeoutMs: number }
  /** A child said it is ready: a fresh one after a crash gets every function back here. */
  onReady(child: SandboxChild): void
  /** Whether a child is wanted right after a crash (there are functions to run), or only when asked for. */
  wanted(): boolean
}

// The pause before restarting a child that keeps dying: 0 after one crash, then 100 ms doubling up to this.
const maxBackoffMs = 10_000

/**
 * The error of any use of a disposed process sandbox.
 *
 * @example
 * if (supervisor.isDisposed()) throw disposedError()
 */
export const disposedError = () => new SandboxDisposedError({ factory: 'createProcessSandbox' })

/**
 * Creates the restart supervisor of a process sandbox (the model is Temporal's threaded-vm, whose workflow
 * creator owns the worker threads and a client per thread talks to each).
 *
 * @example
 * const supervisor = createSandboxSupervisor({ defaults, onReady: (child) => loadAll(child), wanted: () => bundles.size > 0 })
 */
export function createSandboxSupervisor(options: SandboxSupervisorOptions): SandboxSupervisor {
  let current: SandboxChild | undefined
  let starting: { child: Promise<SandboxChild>; timer: NodeJS.Timeout; cancel: () => void } | undefined
  /** Deaths since the last run that came back: the restart pause grows with it. */
  let crashes = 0
  let disposed = false

  const spawn = (): SandboxChild => {
    const child: SandboxChild = createSandboxChild({
      defaults: options.defaults,
      onReady: () => options.onReady(child),
      onRunAnswered: () => {
        crashes = 0
      },
      onExit: (cause) => onDeath(child, cause),
    })
    return child
  }

  function onDeath(child: SandboxChild, cause: string) {
    if (current === child) current = undefined
    crashes++
    child.failPending(({ kind, name }) => {
      const doing = kind === 'run' ? 'running' : 'loading'
      return disposed
        ? new SandboxLostError({ problem: 'disposed-during', functionName: name, doing })
        : new SandboxLostError(
            { problem: 'died-during', functionName: name, doing, reason: cause },
            child.crashOptions(),
          )
    })
    // Start the next one now, so the functions are warm again when the retries come.
    if (!disposed && options.wanted()) void liveChild().catch(() => undefined)
  }

  function liveChild(): Promise<SandboxChild> {
    if (disposed) return Promise.reject(disposedError())
    if (current && !current.isDead()) return Promise.resolve(current)
    if (starting) return starting.child
    const pause =
      crashes <= 1 ? 0 : backoffDelay(crashes - 1, { baseMs: 100, maxMs: maxBackoffMs, jitter: 'none' })
    let settle: { resolve: (child: SandboxChild) => void; reject: (error: unknown) => void } = {
      resolve: () => undefined,
      reject: () => undefined,
    }
    const child = new Promise<SandboxChild>((resolve, reject) => {
      settle = { resolve, reject }
    })
    const timer = setTimeout(() => {
      starting = undefined
      current = spawn()
      settle.resolve(current)
    }, pause)
    starting = { child, timer, cancel: () => settle.reject(disposedError()) }
    return child
  }

  return {
    liveChild,
    current: () => (current && !current.isDead() ? current : undefined),
    isDisposed: () => disposed,
    dispose() {
      if (disposed) return
      disposed = true
      if (starting) {
        clearTimeout(starting.timer)
        starting.cancel()
        starting = undefined
      }
      current?.terminate('the sandbox was disposed')
    },
  }
}
