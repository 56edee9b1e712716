import type { BlockInfo, EventInfo } from '../function/ctx.js'
import type { HostMethod } from '../function/hostMethods.js'
import type { FunctionRunError, SandboxCrashedError } from '../internal/errors.js'
import type { FunctionBundle } from './loadFunction.js'

/** The ctx calls that reach the host: the names of the host-method table (function/hostMethods.ts). */
export type { HostMethod }

/**
 * Serves a run's ctx calls; the engine gives one per run. `args` are the user's arguments, copied out of
 * the sandbox; the resolved value is copied back in (plain data and bigints). A rejection becomes an
 * Error with the same message inside the function.
 */
export type HostApi = (method: HostMethod, args: unknown[]) => Promise<unknown>

/** What a run gets to see: copied into the sandbox and exposed as `ctx`. */
export type RunInput = {
  block: BlockInfo
  chainId: number
  run: { id: string; jobId: string; attempt: number; functionName: string }
  secrets: Record<string, string>
  event?: EventInfo<Record<string, unknown>>
  deadline?: { key: string; at: bigint }
  condition?: { value: unknown }
  schedule?: { at: bigint }
}

/**
 * A run input whose block, event, deadline… part is still the job's stored JSON (written by stringifyJson,
 * bigints as `{ "$bigint": "…" }`). The sandbox parses it inside the isolate, on the isolate's thread:
 * the engine's thread neither parses it nor copies an object graph across, only a string.
 */
export type RunInputJson = {
  json: string
  run: RunInput['run']
  secrets: Record<string, string>
  /**
   * `ctx.chain.read` answers the host worked out before the run, as [answerKeyOf(args), value] pairs: the
   * reads the last run of the same key made, at this run's block, each served by the host's own handler.
   * A read whose arguments have one of these keys is answered inside the isolate, once, without crossing
   * to the host (createHostApi's `answers`).
   */
  answers?: [string, unknown][]
}

/** What `Sandbox.run` takes: the input as an object, or with its job's JSON still to parse. */
export type SandboxInput = RunInput | RunInputJson

/** One line a function logged through ctx.log or console. `at` is the sandbox's clock, in ms. */
export type LogLine = { level: 'info' | 'warn' | 'error'; message: string; at: number }

/** How a run ended. Function failures are values, never rejections. */
export type RunResult =
  | { ok: true; value: unknown; logs: LogLine[]; durationMs: number }
  | { ok: false; error: FunctionRunError | SandboxCrashedError; logs: LogLine[]; durationMs: number }

/** Options of one run. */
export type RunOptions = {
  entry?: 'handler' | 'onReorg'
  timeoutMs?: number
  /**
   * Called when the sandbox runs this run again from its start (its isolate ended with other runs of its
   * batch going, and which one was at fault cannot be told): the host's call counters must start again, so
   * the same calls get the same effect keys (idempotency) and are not made twice.
   */
  onRerun?: () => void
}

/**
 * Where isolates run. `thread`: in the engine's process (isolated-vm gives each isolate its own thread).
 * `process`: in a child process that is restarted when it dies, so a native crash or an out-of-memory abort
 * costs only the runs in flight (retried), at about 0.3 ms more per run (IPC).
 */
export type SandboxIsolation = 'process' | 'thread'

/** Warm isolates for the loaded functions, one per function. */
export type Sandbox = {
  /** Compiles the bundle into a warm isolate, replacing an older version once its runs are done. */
  load(bundle: FunctionBundle): Promise<void>
  /** Drops a function; runs already queued for it still finish. */
  unload(name: string): void
  /** Runs a function's handler (or onReorg). Runs of one function are queued and go in batches, side by side. */
  run(name: string, input: SandboxInput, host: HostApi, options?: RunOptions): Promise<RunResult>
  has(name: string): boolean
  /** Ends every isolate at once; runs in flight end with SandboxCrashedError. */
  dispose(): void
}

/** One run of a function in a warm instance, and where its result goes. */
export type RunRequest = {
  name: string
  entry: 'handler' | 'onReorg'
  input: SandboxInput
  host: HostApi
  timeoutMs: number
  memoryMb: number
  mapStack: (stack: string) => string
  /** `performance.now()` when the run started (or was asked for, before its batch went); durationMs counts from it. */
  started: number
  /** Receives the run's result; a function's failures are results too. */
  resolve: (result: RunResult) => void
  /** Receives a PbjError when the input cannot be copied into the sandbox (an engine bug). */
  reject: (error: unknown) => void
  /**
   * Run in a batch of its own: a batch it was in could not be copied in, or its isolate ended with several
   * runs going, so each is tried alone.
   */
  solo?: boolean
  /** Told before the run is tried again from its start (see RunOptions.onRerun). */
  onRerun?: (() => void) | undefined
}
