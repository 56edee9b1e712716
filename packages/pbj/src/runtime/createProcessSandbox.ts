import { createKeyedLock } from '@pbj/internal/createKeyedLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { PbjError, RunInputError, SandboxLostError, UnknownFunctionError } from '../internal/errors.js'
import { crashedResult, crashHint, type SandboxChild } from './createSandboxChild.js'
import { createSandboxSupervisor, disposedError } from './createSandboxSupervisor.js'
import type { FunctionBundle } from './loadFunction.js'
import type { HostApi, RunResult, Sandbox, SandboxInput } from './sandboxTypes.js'

/** A Sandbox whose isolates live in a child process, restarted when it dies. */
export type ProcessSandbox = Sandbox & {
  /** The pid of the current sandbox process; undefined before it starts and between a crash and the restart. */
  pid(): number | undefined
}

/**
 * Creates a sandbox that runs createSandbox in a child Node process (started with `--no-node-snapshot` and
 * the tsx loader), so a crash of isolated-vm or V8 takes down only that process. ctx calls are proxied
 * back to `host` over IPC (advanced serialization: bigints survive), and every message from the child is
 * validated, since the child runs untrusted code. When the child dies, its runs in flight end with
 * SandboxCrashedError (which the engine retries) and a fresh child is started, with backoff while it
 * keeps dying, and re-loaded with every function. Runs of one function are queued, one at a time.
 * Composed of the IPC client of one child (createSandboxChild) and the supervisor that restarts it
 * (createSandboxSupervisor), as Temporal's threaded-vm composes its worker threads and their clients.
 *
 * @example
 * const sandbox = createProcessSandbox({ memoryMb: 64, timeoutMs: 1000 })
 * await sandbox.load(await loadFunction('functions/lockCar.ts'))
 * const result = await sandbox.run('lockCar', input, (method, args) => engine.call(method, args))
 * if (!result.ok && result.error.retry === 'retryable') requeue()
 * sandbox.dispose()
 */
export function createProcessSandbox(
  options: { memoryMb?: number; timeoutMs?: number } = {},
): ProcessSandbox {
  const defaults = { memoryMb: options.memoryMb ?? 64, timeoutMs: options.timeoutMs ?? 1000 }
  /** The functions loaded, by name: what a fresh child is loaded with. */
  const bundles = new Map<string, FunctionBundle>()
  /** Runs and loads of one function, one at a time and in call order, as in createSandbox. */
  const queues = createKeyedLock<string>()
  const unloadedAt = new Map<string, number>()
  let generation = 0
  const supervisor = createSandboxSupervisor({
    defaults,
    // A fresh child after a crash gets every function back, warm, before the retries ask for them.
    onReady: (child) => {
      for (const bundle of bundles.values()) void child.load(bundle).catch(() => undefined)
    },
    wanted: () => bundles.size > 0,
  })

  const assertOpen = () => {
    if (supervisor.isDisposed()) throw disposedError()
  }

  async function runOnChild(
    name: string,
    known: FunctionBundle,
    input: SandboxInput,
    host: HostApi,
    entry: 'handler' | 'onReorg',
    timeoutMs: number | undefined,
    onRerun: (() => void) | undefined,
  ): Promise<RunResult> {
    const started = performance.now()
    if (supervisor.isDisposed()) {
      return crashedResult(new SandboxLostError({ problem: 'disposed-before-run' }), started)
    }
    // A load queued before this run has replaced `known` by now; an unload queued after it has not run yet.
    const bundle = bundles.get(name) ?? known
    let child: SandboxChild
    try {
      child = await supervisor.liveChild()
      await child.ready
      await child.load(bundle)
    } catch (error) {
      const lost = new SandboxLostError(
        { problem: 'could-not-start-for', functionName: name, reason: messageOf(error) },
        { hint: crashHint, cause: error },
      )
      return crashedResult(lost, started)
    }
    return child.run(bundle, { entry, input, timeoutMs, onRerun }, host, started).catch((error: unknown) => {
      throw error instanceof PbjError ? error : new RunInputError({ functionName: name, cause: error })
    })
  }

  return {
    async load(bundle) {
      assertOpen()
      const loadedAt = ++generation
      await queues.run(bundle.name, async () => {
        const child = await supervisor.liveChild()
        await child.ready
        await child.load(bundle)
      })
      // Unloaded meanwhile: the queued unload takes it out of the child too.
      if (supervisor.isDisposed() || (unloadedAt.get(bundle.name) ?? 0) > loadedAt) return
      bundles.set(bundle.name, bundle)
    },
    unload(name) {
      unloadedAt.set(name, ++generation)
      bundles.delete(name)
      // Queued, so runs already queued for it still finish (as in createSandbox). A child not started yet
      // is loaded from `bundles` once it is, which no longer holds this one.
      void queues.run(name, async () => supervisor.current()?.unload(name)).catch(() => undefined)
    },
    async run(name, input, host, runOptions = {}) {
      assertOpen()
      const bundle = bundles.get(name)
      if (!bundle) {
        throw new UnknownFunctionError({ name, loaded: [...bundles.keys()] })
      }
      const entry = runOptions.entry ?? 'handler'
      if (entry === 'onReorg' && !bundle.hasOnReorg) {
        throw new UnknownFunctionError({ name, onReorg: true })
      }
      return queues.run(name, () =>
        runOnChild(name, bundle, input, host, entry, runOptions.timeoutMs, runOptions.onRerun),
      )
    },
    has: (name) => bundles.has(name),
    pid: () => supervisor.current()?.pid(),
    dispose() {
      if (supervisor.isDisposed()) return
      bundles.clear()
      supervisor.dispose()
    },
  }
}
