import { type ChildProcess, fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { messageOf } from '@pbj/internal/messageOf.js'
import { type PbjErrorOptions, type SandboxCrashedError, SandboxLostError } from '../internal/errors.js'
import type { FunctionBundle } from './loadFunction.js'
import {
  type FromChild,
  fromChildSchema,
  fromWireError,
  type HostReply,
  type ToChild,
} from './sandboxMessages.js'
import type { HostApi, RunResult, SandboxInput } from './sandboxTypes.js'

/**
 * One sandbox process and the IPC client that talks to it: requests (load, run) and their answers over the
 * child's channel, matched by id in a table of calls in flight, with every message from the child checked
 * against its schema, and the ctx calls of a run answered through its `host`. It does not restart itself:
 * see createSandboxSupervisor.
 *
 * @example
 * const child = createSandboxChild({ defaults, onReady: () => {}, onRunAnswered: () => {}, onExit: console.warn })
 * await child.ready
 * await child.load(bundle)
 * const result = await child.run(bundle, { entry: 'handler', input }, host, performance.now())
 */
export type SandboxChild = {
  /** Resolves when the child said it is ready; rejects if it died first. */
  ready: Promise<void>
  pid(): number | undefined
  /** It said it is ready. */
  isStarted(): boolean
  isDead(): boolean
  /** Loads a bundle into the child once; runs wait for it, and a failed load is tried again by the next. */
  load(bundle: FunctionBundle): Promise<void>
  /** Takes a function out of a started child; nothing to do in one that is not up. */
  unload(name: string): void
  /**
   * Runs an entry of a loaded bundle. Resolves with the run's result, or a crashed one if the child dies
   * meanwhile; rejects when the input cannot be sent or the child refused the run.
   */
  run(
    bundle: FunctionBundle,
    run: {
      entry: 'handler' | 'onReorg'
      input: SandboxInput
      timeoutMs?: number | undefined
      /** Told when the child runs it again from its start (see RunOptions.onRerun). */
      onRerun?: (() => void) | undefined
    },
    host: HostApi,
    started: number,
  ): Promise<RunResult>
  /** Settles every request in flight with the error `errorOf` gives for it (runs resolve as crashed). */
  failPending(errorOf: (request: { kind: 'load' | 'run'; name: string }) => SandboxCrashedError): void
  /** The hint, the end of its stderr and its pid, for a crash message. */
  crashOptions(): PbjErrorOptions
  /** Ends it at once for `reason`, settling the ready promise and calling onExit now rather than at 'close'. */
  terminate(reason: string): void
}

/**
 * Options of {@link createSandboxChild}.
 *
 * @example
 * const options: SandboxChildOptions = { defaults: { memoryMb: 64, timeoutMs: 1000 }, onReady, onRunAnswered, onExit }
 */
export type SandboxChildOptions = {
  /** The memory and timeout of a run whose function sets none; the child's sandbox is created with them. */
  defaults: { memoryMb: number; timeoutMs: number }
  /** It said it is ready. */
  onReady(): void
  /** A run came back from it (whether or not the function failed): the child is healthy. */
  onRunAnswered(): void
  /** It died (exited, was killed, never started); `cause` says how. Called once; the requests in flight are still pending. */
  onExit(cause: string): void
}

type Settle<T> = { resolve: (value: T) => void; reject: (error: unknown) => void }
type Request =
  | ({ kind: 'load'; name: string } & Settle<void>)
  | ({
      kind: 'run'
      name: string
      host: HostApi
      hostErrors: unknown[]
      started: number
      onRerun: (() => void) | undefined
    } & Settle<RunResult>)
type Pending = Request & { timer: NodeJS.Timeout }

const childEntry = fileURLToPath(new URL('./sandboxProcess.ts', import.meta.url))
// Resolved here, not from the working directory, so the child finds tsx wherever pbj is run from.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
// A child that does not answer a run within this much past its timeout is wedged: it is killed. The run's
// own timeout is enforced inside the child; this only covers a child whose event loop stopped.
const hangGraceMs = 5_000

/** What a crash of the sandbox process tells the user to do. */
export const crashHint =
  'pbj restarts the sandbox process and the engine retries the run. If it keeps crashing, look at the ' +
  "process's last output in the details (an out-of-memory report, a native crash), or use limits.isolation: 'thread'."

/**
 * A run that did not come back because the sandbox process died (or never started): the engine retries it.
 *
 * @example
 * return crashedResult(new SandboxCrashedError('The sandbox was disposed'), started)
 */
export const crashedResult = (error: SandboxCrashedError, started: number): RunResult => ({
  ok: false,
  error,
  logs: [],
  durationMs: performance.now() - started,
})

/**
 * Starts a sandbox process (createSandbox in a child Node process with `--no-node-snapshot` and the tsx
 * loader) and returns the client that talks to it. See {@link SandboxChild}.
 *
 * @example
 * const child = createSandboxChild({ defaults: { memoryMb: 64, timeoutMs: 1000 }, onReady, onRunAnswered, onExit })
 */
export function createSandboxChild(options: SandboxChildOptions): SandboxChild {
  const { defaults } = options
  const proc: ChildProcess = fork(childEntry, [JSON.stringify(defaults)], {
    execArgv: ['--no-node-snapshot', '--import', tsxLoader],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  /** Requests awaiting an answer, by id. */
  const pending = new Map<number, Pending>()
  /** The load of each function into this child, so a run waits for it and a failed one is tried again. */
  const loads = new Map<string, { bundle: FunctionBundle; done: Promise<void> }>()
  let nextId = 0
  let started = false
  let dead = false
  /** Why the parent ended it (hung, invalid message, disposed); otherwise its exit code or signal says. */
  let killedFor: string | undefined
  /** The end of its stderr, for the crash message (V8's out-of-memory report, a native stack). */
  let stderrTail = ''

  let settleReady: Settle<void> = { resolve: () => undefined, reject: () => undefined }
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = { resolve, reject }
  })
  ready.catch(() => undefined)

  const crashOptions = () => ({
    hint: crashHint,
    details: stderrTail.trim() ? `Last output of the sandbox process:\n${stderrTail.trim()}` : undefined,
    meta: { pid: proc.pid },
  })

  // A child with nothing in flight must not keep the engine's process alive; one starting up must.
  const setRef = () => {
    const method = pending.size > 0 || !started ? 'ref' : 'unref'
    proc[method]()
    proc.channel?.[method]()
    const stderr = proc.stderr as { ref?(): void; unref?(): void } | null
    stderr?.[method]?.()
  }

  // Serialization errors throw here; a send to a child that is going away fails in the callback, and its
  // 'close' settles what it had in flight.
  const send = (message: ToChild) => void proc.send(message, () => undefined)

  /** Marks the child dead and settles its ready promise; `how` says why. Idempotent. */
  const end = (how: string) => {
    if (dead) return
    dead = true
    const cause = killedFor ?? how
    settleReady.reject(new SandboxLostError({ problem: 'could-not-start', reason: cause }, crashOptions()))
    options.onExit(cause)
  }

  const kill = (reason: string) => {
    if (dead) return
    killedFor ??= reason
    proc.kill('SIGKILL')
  }

  const fail = (request: Pending, error: SandboxCrashedError) => {
    if (request.kind === 'run') request.resolve(crashedResult(error, request.started))
    else request.reject(error)
  }

  /** Removes a request that is being settled. */
  const take = (id: number): Pending | undefined => {
    const request = pending.get(id)
    if (!request) return undefined
    pending.delete(id)
    clearTimeout(request.timer)
    if (!dead) setRef()
    return request
  }

  /** Sends a request; it is settled by the child's answer, its death, or (killing it) by `hangMs`. */
  const request = (message: ToChild & { id: number }, entry: Request, hangMs: number) => {
    const doing = entry.kind === 'run' ? 'running' : 'loading'
    const timer = setTimeout(
      () => kill(`it did not answer within ${hangMs} ms while ${doing} '${entry.name}'`),
      hangMs,
    )
    const inFlight = { ...entry, timer } as Pending
    if (dead) {
      clearTimeout(timer)
      return fail(inFlight, new SandboxLostError({ problem: 'died-before', functionName: entry.name, doing }))
    }
    pending.set(message.id, inFlight)
    setRef()
    try {
      send(message)
    } catch (error) {
      take(message.id)
      inFlight.reject(error)
    }
  }

  const receive = (message: Exclude<FromChild, { type: 'ready' }>) => {
    if (message.type === 'hostCall') return void callHost(message)
    if (message.type === 'rerun') {
      const run = pending.get(message.runId)
      return void (run?.kind === 'run' && run.onRerun?.())
    }
    const answered = take(message.id)
    if (!answered) return
    if (message.type === 'loaded') {
      if (answered.kind !== 'load') return kill('it answered a run with a load result')
      return message.error ? answered.reject(fromWireError(message.error)) : answered.resolve()
    }
    if (answered.kind !== 'run') return kill('it answered a load with a run result')
    if (message.type === 'rejected') return answered.reject(fromWireError(message.error, answered.hostErrors))
    options.onRunAnswered()
    const { result } = message
    answered.resolve(
      result.ok ? result : { ...result, error: fromWireError(result.error, answered.hostErrors) },
    )
  }

  const callHost = async (call: Extract<FromChild, { type: 'hostCall' }>) => {
    const run = pending.get(call.runId)
    const answer = (reply: HostReply) => {
      if (dead) return
      try {
        send({ type: 'hostReply', callId: call.callId, reply })
      } catch (error) {
        send({
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

  proc.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk)
    stderrTail = (stderrTail + chunk.toString()).slice(-2000)
  })
  proc.on('message', (raw) => {
    const parsed = fromChildSchema.safeParse(raw)
    if (!parsed.success) return kill(`it sent an invalid message (${parsed.error.issues[0]?.message})`)
    if (parsed.data.type !== 'ready') return receive(parsed.data)
    started = true
    setRef()
    settleReady.resolve()
    options.onReady()
  })
  // Only a failed spawn has no pid; other errors (a send to a dying child) are followed by 'close'.
  proc.on('error', (error) => proc.pid === undefined && end(`it could not be started: ${error.message}`))
  // 'close' rather than 'exit', so the stderr tail is complete.
  proc.on('close', (code, signal) =>
    end(signal ? `it was killed by ${signal}` : `it exited with code ${code}`),
  )
  setRef()

  return {
    ready,
    pid: () => proc.pid,
    isStarted: () => started,
    isDead: () => dead,
    load(bundle) {
      const known = loads.get(bundle.name)
      if (known?.bundle === bundle) return known.done
      const hangMs = (bundle.limits.timeoutMs ?? defaults.timeoutMs) + hangGraceMs
      const done = new Promise<void>((resolve, reject) => {
        request(
          { type: 'load', id: nextId++, bundle },
          { kind: 'load', name: bundle.name, resolve, reject },
          hangMs,
        )
      })
      const entry = { bundle, done }
      loads.set(bundle.name, entry)
      done.catch(() => loads.get(bundle.name) === entry && loads.delete(bundle.name))
      return done
    },
    unload(name) {
      if (dead || !started) return
      loads.delete(name)
      send({ type: 'unload', name })
    },
    run(bundle, { entry, input, timeoutMs, onRerun }, host, runStarted) {
      const { name } = bundle
      // A run may rebuild its isolate first (top-level code, bounded by the same timeout), hence twice.
      const hangMs = 2 * (timeoutMs ?? bundle.limits.timeoutMs ?? defaults.timeoutMs) + hangGraceMs
      return new Promise<RunResult>((resolve, reject) => {
        const message = {
          type: 'run' as const,
          id: nextId++,
          name,
          entry,
          input,
          ...(timeoutMs ? { timeoutMs } : {}),
        }
        request(
          message,
          { kind: 'run', name, host, hostErrors: [], started: runStarted, onRerun, resolve, reject },
          hangMs,
        )
      })
    },
    failPending(errorOf) {
      for (const id of [...pending.keys()]) {
        const request = take(id)
        if (request) fail(request, errorOf(request))
      }
    },
    crashOptions,
    terminate(reason) {
      // Settled here, at once; the 'close' of the kill finds nothing left to settle.
      killedFor = reason
      end(reason)
      proc.kill('SIGKILL')
    },
  }
}
