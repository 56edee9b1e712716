import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type ProcessTree, watchTree } from './processTree.js'

/** The repository's root (the chaos harness runs `pbj` and `npm run dev` from it). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const bin = fileURLToPath(new URL('../../../packages/pbj/bin/pbj.js', import.meta.url))

/** One line the process wrote, when, and its JSON record when it was a pino line. */
export type OutputLine = { at: number; text: string; record: Record<string, unknown> | null }

/** How a process ended: its exit code (null when killed by a signal) and when. */
export type Exit = { code: number | null; signal: NodeJS.Signals | null; at: number }

/**
 * A pbj process (or `npm run dev`) the harness started: its output as it comes, its exit, and its whole
 * process tree (watched from the start, so children left after a kill are found).
 */
export type PbjProcess = {
  child: ChildProcess
  pid: number
  startedAt: number
  lines: OutputLine[]
  tree: ProcessTree
  exit: Promise<Exit>
  /** The exit, once it happened; undefined while the process runs. */
  exited(): Exit | undefined
  /** The first line matching, waiting up to `ms` (null when it never came or the process ended first). */
  waitForLine(match: (line: OutputLine) => boolean, ms: number): Promise<OutputLine | null>
  /** The `healthUrl` of the `health endpoints listening` record (the contract's), or null within `ms`. */
  healthUrl(ms: number): Promise<string | null>
  /** Resolves with the exit, or null when the process still runs after `ms`. */
  waitExit(ms: number): Promise<Exit | null>
  kill(signal: NodeJS.Signals): void
}

const messageOf = (record: Record<string, unknown> | null, text: string) =>
  typeof record?.msg === 'string' ? record.msg : text

/**
 * Starts `node packages/pbj/bin/pbj.js <args>` (the wrapper, as an operator or a supervisor runs it), or
 * any other command with `command`, from the repository root, stdout and stderr piped.
 *
 * @example
 * const engine = spawnPbj(['start', '--dir', dir]); const url = await engine.healthUrl(20_000)
 */
export function spawnPbj(
  args: string[],
  options: { command?: string[]; log?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): PbjProcess {
  const [file, ...pre] = options.command ?? [process.execPath, bin]
  const child = spawn(file as string, [...pre, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  })
  const startedAt = Date.now()
  const pid = child.pid ?? -1
  const tree = watchTree(pid)
  const lines: OutputLine[] = []
  const waiters = new Set<() => void>()
  let ended: Exit | undefined
  const take = (chunk: Buffer, rest: { text: string }) => {
    const parts = (rest.text + chunk.toString()).split('\n')
    rest.text = parts.pop() ?? ''
    for (const text of parts) {
      if (!text.trim()) continue
      let record: Record<string, unknown> | null = null
      if (text.startsWith('{'))
        try {
          record = JSON.parse(text) as Record<string, unknown>
        } catch {}
      lines.push({ at: Date.now(), text, record })
      options.log?.(messageOf(record, text))
    }
    for (const wake of waiters) wake()
  }
  const out = { text: '' }
  const err = { text: '' }
  child.stdout?.on('data', (c: Buffer) => take(c, out))
  child.stderr?.on('data', (c: Buffer) => take(c, err))
  const exit = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = { code, signal, at: Date.now() }
      for (const wake of waiters) wake()
      resolve(ended)
    })
  })
  const waitForLine = (match: (line: OutputLine) => boolean, ms: number) =>
    new Promise<OutputLine | null>((resolve) => {
      let checked = 0
      const check = () => {
        for (; checked < lines.length; checked++) {
          const line = lines[checked] as OutputLine
          if (match(line)) return done(line)
        }
        if (ended) done(null)
      }
      const timer = setTimeout(() => done(null), ms)
      const done = (line: OutputLine | null) => {
        clearTimeout(timer)
        waiters.delete(check)
        resolve(line)
      }
      waiters.add(check)
      check()
    })
  return {
    child,
    pid,
    startedAt,
    lines,
    tree,
    exit,
    exited: () => ended,
    waitForLine,
    async healthUrl(ms) {
      const line = await waitForLine(
        (l) => l.record?.msg === 'health endpoints listening' && typeof l.record.healthUrl === 'string',
        ms,
      )
      return line ? (line.record?.healthUrl as string) : null
    },
    async waitExit(ms) {
      const timer = new Promise<null>((r) => setTimeout(() => r(null), ms).unref())
      return Promise.race([exit, timer])
    },
    kill(signal) {
      try {
        process.kill(pid, signal)
      } catch {}
    },
  }
}

/** True when some line of the output is a stack trace frame ("    at f (file:1:2)"), raw or inside JSON. */
export function hasStackTrace(lines: OutputLine[]): boolean {
  return lines.some((l) => /(^|\\n|\n)\s+at .+(:\d+:\d+\)?|native)/.test(l.text))
}

/** The messages of every line, for a failure's explanation (last `n`). */
export function tailOf(lines: OutputLine[], n = 5): string {
  return lines
    .slice(-n)
    .map((l) => messageOf(l.record, l.text).slice(0, 200))
    .join(' | ')
}
