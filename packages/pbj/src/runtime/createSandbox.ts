import { createLock, type Lock } from '@pbj/internal/createLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { SandboxCrashedError, SandboxDisposedError, UnknownFunctionError } from '../internal/errors.js'
import { createInstance, type Instance } from './createInstance.js'
import type { FunctionBundle } from './loadFunction.js'
import { createStackMapper } from './mapStack.js'
import { runInstance } from './runInstance.js'
import type { RunRequest, Sandbox } from './sandboxTypes.js'

export type {
  HostApi,
  HostMethod,
  LogLine,
  RunInput,
  RunInputJson,
  RunResult,
  Sandbox,
  SandboxInput,
} from './sandboxTypes.js'

type Slot = {
  bundle: FunctionBundle
  instance: Instance | undefined
  /**
   * Entries of batches into the isolate, version swaps and solo runs of one function, one at a time. A batch
   * holds it only until the isolate has started its runs; a swap or a solo run, until those in flight end.
   */
  lock: Lock
  /** Batches in the isolate whose runs have not all ended: each settles when they have (never rejects). */
  flying: Set<Promise<void>>
  /** Runs asked for and not yet handed to the isolate; the next batch takes them. */
  waiting: Waiting[]
  /** Whether a batch is queued that will take `waiting`. */
  scheduled: boolean
  mapStack: (stack: string) => string
  /** Maps with the version's mapper current when a run fails: one closure per function, not one per run. */
  mapStackNow: (stack: string) => string
}

/** A run asked for; `ownTimeout`: its caller set timeoutMs, else the limits of the version it runs in do. */
type Waiting = RunRequest & { ownTimeout: boolean }

/**
 * Most runs one host→isolate transition carries. Runs asked for while a batch enters the isolate wait and
 * go together in the next one, side by side, so a busy function pays the transition once per batch, not
 * once per run; a lone run still goes at once. The next batch enters as soon as the one before has started
 * its runs (those waiting on ctx calls stay in the isolate), so a block's runs all start at once and overlap
 * their ctx calls whatever their number, and smaller batches keep the isolate's thread and this one busy
 * at once: with all 1,024 runs in flight in one batch, the engine's thread sat idle ~25 % of a drain while
 * the isolate's worked, and the other way round (50,000 warm runs: ~19k → ~27k runs/s at the same CPU).
 */
const maxBatch = 256

/**
 * Creates the sandbox that runs user functions: one warm isolate per function, compiled once and reused,
 * with a fresh ctx per run. Runs of one function go in batches, entering the isolate one batch at a time,
 * those waiting going together in the next (one host→isolate transition, runs side by side); a batch's
 * runs that wait on ctx calls stay in the isolate beside the next batches'. Different functions run side by
 * side too. A run that times out or exceeds its memory cap ends its isolate: it fails if it alone was going
 * there, else every run that was going runs again alone; the next runs of that function get a new one.
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
  const enqueue = <T>(slot: Slot, task: () => Promise<T>): Promise<T> => slot.lock.run(task)
  /** Waits, holding the lock, until no run of the slot is in its isolate. */
  const drain = async (slot: Slot) => {
    while (slot.flying.size > 0) await Promise.all(slot.flying)
  }
  /** A task that must have the isolate to itself: after every batch in flight has ended. */
  const alone = <T>(slot: Slot, task: () => Promise<T>): Promise<T> =>
    enqueue(slot, async () => {
      await drain(slot)
      return task()
    })
  const assertOpen = () => {
    if (!disposed) return
    throw new SandboxDisposedError({ factory: 'createSandbox' })
  }

  /**
   * Hands the waiting runs to the isolate, a batch at a time, after what is already queued for the slot. A
   * batch lets the next one in once its runs have started; a solo run (see RunRequest.solo) waits until no
   * other is in the isolate and keeps it to itself, so that if the isolate ends, the run to blame is known.
   */
  const schedule = (slot: Slot) => {
    if (slot.scheduled || slot.waiting.length === 0) return
    slot.scheduled = true
    void enqueue(slot, async () => {
      const solo = slot.waiting[0]?.solo === true
      if (solo) await drain(slot)
      slot.scheduled = false
      const size = solo ? 1 : Math.min(maxBatch, slot.waiting.length)
      const batch = slot.waiting.splice(0, size)
      schedule(slot)
      let entered: () => void = () => undefined
      const entering = new Promise<void>((resolve) => {
        entered = resolve
      })
      const ended = runBatch(slot, batch, entered).then(
        (notStarted) => {
          if (notStarted.length === 0) return
          slot.waiting.unshift(...notStarted)
          schedule(slot)
        },
        (error: unknown) => {
          // Not a function's failure (those are results): its callers get it, as they would from run().
          for (const r of batch) r.reject(error)
        },
      )
      slot.flying.add(ended)
      void ended.finally(() => slot.flying.delete(ended))
      await (solo ? ended : Promise.race([entering, ended]))
    })
  }

  async function runBatch(slot: Slot, batch: Waiting[], entered: () => void): Promise<Waiting[]> {
    const { bundle } = slot
    const limits = limitsOf(bundle)
    for (const r of batch) {
      r.memoryMb = limits.memoryMb
      if (!r.ownTimeout) r.timeoutMs = limits.timeoutMs
    }
    const crashAll = (message: string, cause?: unknown) => {
      for (const r of batch) {
        const error = new SandboxCrashedError(message, { cause })
        r.resolve({ ok: false, error, logs: [], durationMs: performance.now() - r.started })
      }
      return []
    }
    if (disposed) return crashAll('The sandbox was disposed before this run started')
    if (!slot.instance || slot.instance.isolate.isDisposed) {
      try {
        slot.instance = await createInstance(bundle, limits)
      } catch (error) {
        return crashAll(
          `Could not start the sandbox of function '${bundle.name}': ${messageOf(error)}`,
          error,
        )
      }
    }
    const instance = slot.instance
    try {
      return (await runInstance(instance, batch, entered)) as Waiting[]
    } finally {
      // A timeout or the memory cap ended the isolate: the next batch starts a fresh one from the bundle.
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
      if (slot) return alone(slot, async () => install(slot))
      const created: Slot = {
        bundle,
        instance: undefined,
        lock: createLock(),
        flying: new Set(),
        waiting: [],
        scheduled: false,
        mapStack: (s) => s,
        mapStackNow: (s) => created.mapStack(s),
      }
      slots.set(bundle.name, created)
      install(created)
    },
    unload(name) {
      const slot = slots.get(name)
      latestLoad.delete(name)
      if (!slot) return
      slots.delete(name)
      void alone(slot, async () => slot.instance?.kill())
    },
    async run(name, input, host, runOptions = {}) {
      assertOpen()
      const slot = slots.get(name)
      if (!slot) {
        throw new UnknownFunctionError({ name, loaded: [...slots.keys()] })
      }
      const entry = runOptions.entry ?? 'handler'
      if (entry === 'onReorg' && !slot.bundle.hasOnReorg) {
        throw new UnknownFunctionError({ name, onReorg: true })
      }
      return new Promise((resolve, reject) => {
        slot.waiting.push({
          name: slot.bundle.name,
          entry,
          input,
          host,
          // Set from the limits of the version the batch runs in, unless the caller chose a timeout.
          timeoutMs: runOptions.timeoutMs ?? 0,
          ownTimeout: runOptions.timeoutMs !== undefined,
          memoryMb: 0,
          mapStack: slot.mapStackNow,
          started: performance.now(),
          onRerun: runOptions.onRerun,
          resolve,
          reject,
        })
        schedule(slot)
      })
    },
    has: (name) => slots.has(name),
    dispose() {
      disposed = true
      for (const slot of slots.values()) slot.instance?.kill()
      slots.clear()
    },
  }
}
