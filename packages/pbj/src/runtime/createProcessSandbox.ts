import { type ChildProcess, fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  PbjError,
  RunInputError,
  SandboxCrashedError,
  SandboxDisposedError,
  UnknownFunctionError,
} from '../internal/errors.js'
import type { FunctionBundle } from './loadFunction.js'
import {
  type FromChild,
  fromChildSchema,
  fromWireError,
  type HostReply,
  type ToChild,
} from './sandboxMessages.js'
import type { HostApi, RunResult, Sandbox, SandboxInput } from './sandboxTypes.js'

/** A Sandbox whose isolates live in a child process, restarted when it dies. */
export type ProcessSandbox = Sandbox & {
  /** The pid of the current sandbox process; undefined before it starts and between a crash and the restart. */
  pid(): number | undefined
}

type Settle<T> = { resolve: (value: T) => void; reject: (error: unknown) => void }
type Request =
  | ({ kind: 'load'; name: string } & Settle<void>)
  | ({ kind: 'run'; name: string; host: HostApi; hostErrors: unknown[]; started: number } & Settle<RunResult>)
type Pending = Request & { timer: NodeJS.Timeout }

type Child = {
  proc: ChildProcess
  /** Resolves when the child said it is ready; rejects if it died first. */
  ready: Promise<void>
  /** Requests awaiting an answer, by id. */
  pending: Map<number, Pending>
  /** The load of each function into this child, so a run waits for it and a failed one is tried again. */
  loads: Map<string, { bundle: FunctionBundle; done: Promise<void> }>
  /** It said it is ready. */
  started: boolean
  dead: boolean
  /** Marks the child dead and settles what it had in flight; `how` says why. Idempotent. */
  end(how: string): void
  /** Why the parent ended it (hung, invalid message, disposed); otherwise its exit code or signal says. */
  killedFor: string | undefined
  /** The end of its stderr, for the crash message (V8's out-of-memory report, a native stack). */
  stderrTail: string
}

const childEntry = fileURLToPath(new URL('./sandboxProcess.ts', import.meta.url))
// Resolved here, not from the working directory, so the child finds tsx wherever pbj is run from.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
// A child that does not answer a run within this much past its timeout is wedged: it is killed. The run's
// own timeout is enforced inside the child; this only covers a child whose event loop stopped.
const hangGraceMs = 5_000
const maxBackoffMs = 10_000
const crashHint =
  'pbj restarts the sandbox process and the engine retries the run. If it keeps crashing, look at the ' +
  "process's last output in the details (an out-of-memory report, a native crash), or use limits.isolation: 'thread'."

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))
const crashedResult = (error: SandboxCrashedError, started: number): RunResult => ({
  ok: false,
  error,
  logs: [],
  durationMs: performance.now() - started,
})

/**
 * Creates a sandbox that runs createSandbox in a child Node process (started with `--no-node-snapshot` and
 * the tsx loader), so a crash of isolated-vm or V8 takes down only that process. ctx calls are proxied
 * back to `host` over IPC (advanced serialization: bigints survive), and every message from the child is
 * validated, since the child runs untrusted code. When the child dies, its runs in flight end with
 * SandboxCrashedError (which the engine retries) and a fresh child is started, with backoff while it
 * keeps dying, and re-loaded with every function. Runs of one function are queued, one at a time.
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
  const queues = new Map<string, Promise<unknown>>()
  const unloadedAt = new Map<string, number>()
  let generation = 0
  let nextId = 0
  let current: Child | undefined
  let starting: { child: Promise<Child>; timer: NodeJS.Timeout; cancel: () => void } | undefined
  /** Deaths since the last run that came back: the restart pause grows with it. */
  let crashes = 0
  let disposed = false

  const disposedError = () => new SandboxDisposedError({ factory: 'createProcessSandbox' })
  const assertOpen = () => {
    if (disposed) throw disposedError()
  }

  /** Runs and loads of one function, one at a time and in call order, as in createSandbox. */
  const enqueue = <T>(name: string, task: () => Promise<T>): Promise<T> => {
    const next = (queues.get(name) ?? Promise.resolve()).then(task)
    const tail = next.catch(() => undefined)
    queues.set(name, tail)
    void tail.then(() => queues.get(name) === tail && queues.delete(name))
    return next
  }

  // A child with nothing in flight must not keep the engine's process alive; one starting up must.
  const setRef = (child: Child) => {
    const method = child.pending.size > 0 || !child.started ? 'ref' : 'unref'
    child.proc[method]()
    child.proc.channel?.[method]()
    const stderr = child.proc.stderr as { ref?(): void; unref?(): void } | null
    stderr?.[method]?.()
  }

  // Serialization errors throw here; a send to a child that is going away fails in the callback, and its
  // 'close' settles what it had in flight.
  const send = (child: Child, message: ToChild) => void child.proc.send(message, () => undefined)

  const crashOptions = (child: Child) => ({
    hint: crashHint,
    details: child.stderrTail.trim()
      ? `Last output of the sandbox process:\n${child.stderrTail.trim()}`
      : undefined,
    meta: { pid: child.proc.pid },
  })

  function spawnChild(): Child {
    const proc = fork(childEntry, [JSON.stringify(defaults)], {
      execArgv: ['--no-node-snapshot', '--import', tsxLoader],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    let ready: Settle<void> = { resolve: () => undefined, reject: () => undefined }
    const child: Child = {
      proc,
      ready: new Promise<void>((resolve, reject) => {
        ready = { resolve, reject }
      }),
      pending: new Map(),
      loads: new Map(),
      started: false,
      dead: false,
      killedFor: undefined,
      stderrTail: '',
      end(how) {
        if (child.dead) return
        child.dead = true
        const cause = child.killedFor ?? how
        ready.reject(
          new SandboxCrashedError(`The sandbox process could not start: ${cause}`, crashOptions(child)),
        )
        onDeath(child, cause)
      },
    }
    child.ready.catch(() => undefined)
    proc.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      child.stderrTail = (child.stderrTail + chunk.toString()).slice(-2000)
    })
    proc.on('message', (raw) => {
      const parsed = fromChildSchema.safeParse(raw)
      if (!parsed.success)
        return kill(child, `it sent an invalid message (${parsed.error.issues[0]?.message})`)
      if (parsed.data.type !== 'ready') return receive(child, parsed.data)
      child.started = true
      setRef(child)
      ready.resolve()
      // A fresh child after a crash gets every function back, warm, before the retries ask for them.
      for (const bundle of bundles.values()) void ensureLoaded(child, bundle).catch(() => undefined)
    })
    // Only a failed spawn has no pid; other errors (a send to a dying child) are followed by 'close'.
    proc.on(
      'error',
      (error) => proc.pid === undefined && child.end(`it could not be started: ${error.message}`),
    )
    // 'close' rather than 'exit', so the stderr tail is complete.
    proc.on('close', (code, signal) =>
      child.end(signal ? `it was killed by ${signal}` : `it exited with code ${code}`),
    )
    setRef(child)
    return child
  }

  function kill(child: Child, reason: string) {
    if (child.dead) return
    child.killedFor ??= reason
    child.proc.kill('SIGKILL')
  }

  function onDeath(child: Child, cause: string) {
    if (current === child) current = undefined
    crashes++
    for (const id of [...child.pending.keys()]) {
      const pending = take(child, id)
      if (!pending) continue
      const doing = pending.kind === 'run' ? 'running' : 'loading'
      const error = disposed
        ? new SandboxCrashedError(`The sandbox was disposed while function '${pending.name}' was ${doing}`)
        : new SandboxCrashedError(
            `The sandbox process died while ${doing} function '${pending.name}': ${cause}`,
            crashOptions(child),
          )
      fail(pending, error)
    }
    // Start the next one now, so the functions are warm again when the retries come.
    if (!disposed && bundles.size > 0) void liveChild().catch(() => undefined)
  }

  function fail(pending: Pending, error: SandboxCrashedError) {
    if (pending.kind === 'run') pending.resolve(crashedResult(error, pending.started))
    else pending.reject(error)
  }

  /** The running child, or a new one: at once after one crash, then after a pause that doubles. */
  function liveChild(): Promise<Child> {
    if (disposed) return Promise.reject(disposedError())
    if (current && !current.dead) return Promise.resolve(current)
    if (starting) return starting.child
    const pause = crashes <= 1 ? 0 : Math.min(100 * 2 ** (crashes - 2), maxBackoffMs)
    let settle: Settle<Child> = { resolve: () => undefined, reject: () => undefined }
    const child = new Promise<Child>((resolve, reject) => {
      settle = { resolve, reject }
    })
    const timer = setTimeout(() => {
      starting = undefined
      current = spawnChild()
      settle.resolve(current)
    }, pause)
    starting = { child, timer, cancel: () => settle.reject(disposedError()) }
    return child
  }

  /** Sends a request; it is settled by the child's answer, its death, or (killing it) by `hangMs`. */
  function request(child: Child, message: ToChild & { id: number }, pending: Request, hangMs: number) {
    const doing = pending.kind === 'run' ? 'running' : 'loading'
    const timer = setTimeout(
      () => kill(child, `it did not answer within ${hangMs} ms while ${doing} '${pending.name}'`),
      hangMs,
    )
    const entry = { ...pending, timer } as Pending
    if (child.dead) {
      clearTimeout(timer)
      return fail(
        entry,
        new SandboxCrashedError(
          `The sandbox process died before function '${pending.name}' started ${doing}`,
        ),
      )
    }
    child.pending.set(message.id, entry)
    setRef(child)
    try {
      send(child, message)
    } catch (error) {
      take(child, message.id)
      entry.reject(error)
    }
  }

  /** Removes a request that is being settled. */
  function take(child: Child, id: number): Pending | undefined {
    const pending = child.pending.get(id)
    if (!pending) return undefined
    child.pending.delete(id)
    clearTimeout(pending.timer)
    if (!child.dead) setRef(child)
    return pending
  }

  function receive(child: Child, message: Exclude<FromChild, { type: 'ready' }>) {
    if (message.type === 'hostCall') return void callHost(child, message)
    const pending = take(child, message.id)
    if (!pending) return
    if (message.type === 'loaded') {
      if (pending.kind !== 'load') return kill(child, 'it answered a run with a load result')
      return message.error ? pending.reject(fromWireError(message.error)) : pending.resolve()
    }
    if (pending.kind !== 'run') return kill(child, 'it answered a load with a run result')
    if (message.type === 'rejected') return pending.reject(fromWireError(message.error, pending.hostErrors))
    crashes = 0
    const { result } = message
    pending.resolve(
      result.ok ? result : { ...result, error: fromWireError(result.error, pending.hostErrors) },
    )
  }

  async function callHost(child: Child, call: Extract<FromChild, { type: 'hostCall' }>) {
    const run = child.pending.get(call.runId)
    const answer = (reply: HostReply) => {
      if (child.dead) return
      try {
        send(child, { type: 'hostReply', callId: call.callId, reply })
      } catch (error) {
        send(child, {
          type: 'hostReply',
          callId: call.callId,
          reply: { ok: 'uncopyable', message: messageOf(error) },
        })
      }
    }
    if (run?.kind !== 'run') {
      return answer({ ok: false, message: `ctx.${call.method}() was called after the run finished` })
    }
    try {
      answer({ ok: true, value: await run.host(call.method, call.args) })
    } catch (error) {
      answer({ ok: false, message: messageOf(error), hostErrorId: run.hostErrors.push(error) - 1 })
    }
  }

  /** Loads a bundle into a child once; runs wait for it, and a failed load is tried again by the next. */
  function ensureLoaded(child: Child, bundle: FunctionBundle): Promise<void> {
    const known = child.loads.get(bundle.name)
    if (known?.bundle === bundle) return known.done
    const hangMs = (bundle.limits.timeoutMs ?? defaults.timeoutMs) + hangGraceMs
    const done = new Promise<void>((resolve, reject) => {
      request(
        child,
        { type: 'load', id: nextId++, bundle },
        { kind: 'load', name: bundle.name, resolve, reject },
        hangMs,
      )
    })
    const entry = { bundle, done }
    child.loads.set(bundle.name, entry)
    done.catch(() => child.loads.get(bundle.name) === entry && child.loads.delete(bundle.name))
    return done
  }

  async function runOnChild(
    name: string,
    known: FunctionBundle,
    input: SandboxInput,
    host: HostApi,
    entry: 'handler' | 'onReorg',
    timeoutMs: number | undefined,
  ): Promise<RunResult> {
    const started = performance.now()
    if (disposed) {
      return crashedResult(
        new SandboxCrashedError('The sandbox was disposed before this run started'),
        started,
      )
    }
    // A load queued before this run has replaced `known` by now; an unload queued after it has not run yet.
    const bundle = bundles.get(name) ?? known
    let child: Child
    try {
      child = await liveChild()
      await child.ready
      await ensureLoaded(child, bundle)
    } catch (error) {
      const message = `Could not start the sandbox of function '${name}': ${messageOf(error)}`
      return crashedResult(new SandboxCrashedError(message, { hint: crashHint, cause: error }), started)
    }
    // A run may rebuild its isolate first (top-level code, bounded by the same timeout), hence twice.
    const hangMs = 2 * (timeoutMs ?? bundle.limits.timeoutMs ?? defaults.timeoutMs) + hangGraceMs
    return new Promise<RunResult>((resolve, reject) => {
      const refuse = (error: unknown) =>
        reject(error instanceof PbjError ? error : new RunInputError({ functionName: name, cause: error }))
      const message = {
        type: 'run' as const,
        id: nextId++,
        name,
        entry,
        input,
        ...(timeoutMs ? { timeoutMs } : {}),
      }
      request(
        child,
        message,
        { kind: 'run', name, host, hostErrors: [], started, resolve, reject: refuse },
        hangMs,
      )
    })
  }

  return {
    async load(bundle) {
      assertOpen()
      const loadedAt = ++generation
      await enqueue(bundle.name, async () => {
        const child = await liveChild()
        await child.ready
        await ensureLoaded(child, bundle)
      })
      // Unloaded meanwhile: the queued unload takes it out of the child too.
      if (disposed || (unloadedAt.get(bundle.name) ?? 0) > loadedAt) return
      bundles.set(bundle.name, bundle)
    },
    unload(name) {
      unloadedAt.set(name, ++generation)
      bundles.delete(name)
      // Queued, so runs already queued for it still finish (as in createSandbox).
      void enqueue(name, async () => {
        // A child not started yet is loaded from `bundles` once it is, which no longer holds this one.
        const child = current
        if (!child || child.dead || !child.started) return
        child.loads.delete(name)
        send(child, { type: 'unload', name })
      }).catch(() => undefined)
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
      return enqueue(name, () => runOnChild(name, bundle, input, host, entry, runOptions.timeoutMs))
    },
    has: (name) => bundles.has(name),
    pid: () => (current && !current.dead ? current.proc.pid : undefined),
    dispose() {
      if (disposed) return
      disposed = true
      bundles.clear()
      if (starting) {
        clearTimeout(starting.timer)
        starting.cancel()
        starting = undefined
      }
      const child = current
      if (!child) return
      // Settled here, at once; the 'close' of the kill finds nothing left to settle.
      child.killedFor = 'the sandbox was disposed'
      child.end('disposed')
      child.proc.kill('SIGKILL')
    },
  }
}
