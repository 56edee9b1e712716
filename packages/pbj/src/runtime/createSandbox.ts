import { PbjError, SandboxCrashedError } from '../internal/errors.js'
import { createInstance, type Instance } from './createInstance.js'
import type { FunctionBundle } from './loadFunction.js'
import { createStackMapper } from './mapStack.js'
import { runInstance } from './runInstance.js'
import type { HostApi, RunInput, RunResult, Sandbox } from './sandboxTypes.js'

export type { HostApi, HostMethod, LogLine, RunInput, RunResult, Sandbox } from './sandboxTypes.js'

type Slot = {
  bundle: FunctionBundle
  instance: Instance | undefined
  /** Runs and version swaps of one function, one at a time. */
  queue: Promise<unknown>
  mapStack: (stack: string) => string
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Creates the sandbox that runs user functions: one warm isolate per function, compiled once and reused,
 * with a fresh ctx per run. Runs of one function are queued; different functions run side by side. A run
 * that times out or exceeds its memory cap ends its isolate; the next run of that function gets a new one.
 *
 * @example
 * const sandbox = createSandbox({ memoryMb: 64, timeoutMs: 1000 })
 * await sandbox.load(await loadFunction('functions/lockCar.ts'))
 * const result = await sandbox.run('lockCar', input, (method, args) => engine.call(method, args))
 * if (!result.ok) console.error(result.error.message)
 */
export function createSandbox(options: { memoryMb?: number; timeoutMs?: number } = {}): Sandbox {
  const defaults = { memoryMb: options.memoryMb ?? 64, timeoutMs: options.timeoutMs ?? 1000 }
  const slots = new Map<string, Slot>()
  const latestLoad = new Map<string, number>()
  let loads = 0
  let disposed = false

  const limitsOf = (bundle: FunctionBundle) => ({
    memoryMb: bundle.limits.memoryMb ?? defaults.memoryMb,
    timeoutMs: bundle.limits.timeoutMs ?? defaults.timeoutMs,
  })
  const enqueue = <T>(slot: Slot, task: () => Promise<T>): Promise<T> => {
    const next = slot.queue.then(task)
    slot.queue = next.catch(() => undefined)
    return next
  }
  const assertOpen = () => {
    if (!disposed) return
    throw new PbjError('The sandbox was disposed', { hint: 'Create a new sandbox with createSandbox().' })
  }

  async function runQueued(
    slot: Slot,
    input: RunInput,
    host: HostApi,
    entry: 'handler' | 'onReorg',
    timeoutMs: number | undefined,
  ): Promise<RunResult> {
    const started = performance.now()
    const { bundle } = slot
    const limits = limitsOf(bundle)
    const crashed = (message: string, cause?: unknown): RunResult => ({
      ok: false,
      error: new SandboxCrashedError(message, { cause }),
      logs: [],
      durationMs: performance.now() - started,
    })
    if (disposed) return crashed('The sandbox was disposed before this run started')
    if (!slot.instance || slot.instance.isolate.isDisposed) {
      try {
        slot.instance = await createInstance(bundle, limits)
      } catch (error) {
        return crashed(`Could not start the sandbox of function '${bundle.name}': ${messageOf(error)}`, error)
      }
    }
    const instance = slot.instance
    try {
      return await runInstance(instance, {
        name: bundle.name,
        entry,
        input,
        host,
        timeoutMs: timeoutMs ?? limits.timeoutMs,
        memoryMb: limits.memoryMb,
        mapStack: slot.mapStack,
        started,
      })
    } finally {
      // A timeout or the memory cap ended the isolate: the next run starts a fresh one from the bundle.
      if (instance.isolate.isDisposed && slot.instance === instance) slot.instance = undefined
    }
  }

  return {
    async load(bundle) {
      assertOpen()
      const generation = ++loads
      latestLoad.set(bundle.name, generation)
      const fresh = await createInstance(bundle, limitsOf(bundle))
      const install = (slot: Slot) => {
        // A newer load of the same name, an unload or dispose happened meanwhile: this version is stale.
        if (disposed || latestLoad.get(bundle.name) !== generation) return void fresh.kill()
        slot.instance?.kill()
        Object.assign(slot, {
          bundle,
          instance: fresh,
          mapStack: createStackMapper(bundle.code, bundle.file),
        })
      }
      const slot = slots.get(bundle.name)
      if (slot) return enqueue(slot, async () => install(slot))
      const created: Slot = { bundle, instance: undefined, queue: Promise.resolve(), mapStack: (s) => s }
      slots.set(bundle.name, created)
      install(created)
    },
    unload(name) {
      const slot = slots.get(name)
      latestLoad.delete(name)
      if (!slot) return
      slots.delete(name)
      void enqueue(slot, async () => slot.instance?.kill())
    },
    async run(name, input, host, runOptions = {}) {
      assertOpen()
      const slot = slots.get(name)
      if (!slot) {
        throw new PbjError(`No function named '${name}' is loaded in the sandbox`, {
          hint: `Load it with sandbox.load(bundle) first. Loaded: ${[...slots.keys()].join(', ') || 'none'}.`,
        })
      }
      const entry = runOptions.entry ?? 'handler'
      if (entry === 'onReorg' && !slot.bundle.hasOnReorg) {
        throw new PbjError(`Function '${name}' has no onReorg handler`, {
          hint: 'Check bundle.hasOnReorg before running the onReorg entry.',
        })
      }
      return enqueue(slot, () => runQueued(slot, input, host, entry, runOptions.timeoutMs))
    },
    has: (name) => slots.has(name),
    dispose() {
      disposed = true
      for (const slot of slots.values()) slot.instance?.kill()
      slots.clear()
    },
  }
}
