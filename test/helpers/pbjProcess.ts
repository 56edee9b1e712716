import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { watchTree } from './processTree.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
/** The `pbj` binary as a user runs it (the wrapper that re-runs node with --no-node-snapshot). */
export const pbjBin = `${root}packages/pbj/bin/pbj.js`

/** A running `node packages/pbj/bin/pbj.js …`, with its output, its process tree and how it ended. */
export type PbjProcess = {
  child: ChildProcess
  pid: number
  stdout: () => string
  stderr: () => string
  /** When stderr last received something (ms since the epoch). */
  lastStderrAt: () => number
  /** When stderr first contained `text` (ms since the epoch), or undefined. */
  firstSeen: (text: string) => number | undefined
  /** Resolves once stderr contains `text`; rejects after `timeoutMs` or if the process exits first. */
  waitForStderr: (text: string, timeoutMs?: number) => Promise<void>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  tree: ReturnType<typeof watchTree>
}

/**
 * Spawns `node packages/pbj/bin/pbj.js <args>` from the repository root and follows its process tree.
 *
 * @example
 * const pbj = startPbj(['start', '--dir', dir])
 * const { code } = await pbj.exited
 */
export function startPbj(args: string[], env: Record<string, string> = {}): PbjProcess {
  const child = spawn(process.execPath, [pbjBin, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  })
  const pid = child.pid as number
  let out = ''
  let err = ''
  let lastErrAt = Date.now()
  const seenAt = new Map<string, number>()
  const waiters = new Set<() => void>()
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d
    lastErrAt = Date.now()
    for (const w of waiters) w()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal, at: Date.now() })
      for (const w of waiters) w()
    }),
  )
  const firstSeen = (text: string) => {
    if (!seenAt.has(text) && err.includes(text)) seenAt.set(text, lastErrAt)
    return seenAt.get(text)
  }
  const waitForStderr = (text: string, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer)
        waiters.delete(check)
        settle()
      }
      const check = () => {
        if (firstSeen(text) !== undefined) done(resolve)
        else if (child.exitCode !== null || child.signalCode !== null)
          done(() => reject(new Error(`pbj exited before printing "${text}"; stderr:\n${err}`)))
      }
      const timer = setTimeout(
        () => done(() => reject(new Error(`no "${text}" within ${timeoutMs} ms; stderr:\n${err}`))),
        timeoutMs,
      )
      waiters.add(check)
      check()
    })
  return {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    lastStderrAt: () => lastErrAt,
    firstSeen,
    waitForStderr,
    exited,
    tree: watchTree(pid),
  }
}
