import { readFileSync } from 'node:fs'

/**
 * Options of {@link watchParent}.
 *
 * @example
 * const options: WatchParentOptions = { intervalMs: 250, levels: 2 }
 */
export type WatchParentOptions = {
  /** How often the parent is looked at; default 250 ms. */
  intervalMs?: number
  /**
   * How many ancestors must stay: 1 (the default) is the parent; 2 adds the grandparent, for a process whose
   * parent is a shell that outlives its own launcher (`npm run dev` runs `sh -c node …`, and a SIGKILLed npm
   * leaves that shell waiting on its child). Levels above 1 read /proc and are ignored where it is absent.
   */
  levels?: number
}

/** The parent pid of `pid` from /proc/<pid>/stat, or null when it cannot be read (gone, or no /proc). */
export function parentPidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces or parentheses: read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    return Number.isInteger(ppid) ? ppid : null
  } catch {
    return null
  }
}

/** This process's ancestors, nearest first, up to `levels` (fewer where /proc cannot say). */
function ancestors(levels: number): number[] {
  const chain = [process.ppid]
  while (chain.length < levels) {
    const next = parentPidOf(chain.at(-1) as number)
    if (next === null || next === 0) break
    chain.push(next)
  }
  return chain
}

/**
 * Calls `onGone` once when this process's parent is gone, however it went (SIGKILL included): a child
 * that outlives its parent keeps following the chain and commanding devices with nobody to stop it.
 *
 * Polls rather than holding an inherited pipe open: the poll needs nothing from the spawner (a pipe needs an
 * extra fd in every spawn, and a `pbj` started by a user's own script or a supervisor has none), and a
 * 250 ms delay is nothing next to a drain. `process.ppid` is read anew on each access, and a dead parent's
 * children are re-parented (to init or a subreaper), so a changed ppid means the parent is gone. With
 * `levels` > 1 the chain of ancestors, read from /proc, must stay the same too. The timer is unref'd: the
 * watch alone never keeps the process alive.
 *
 * Returns a function that stops watching.
 *
 * @example
 * const stop = watchParent(() => process.kill(process.pid, 'SIGTERM'))
 */
export function watchParent(onGone: () => void, options: WatchParentOptions = {}): () => void {
  const levels = Math.max(1, options.levels ?? 1)
  const first = ancestors(levels)
  const timer = setInterval(() => {
    const now = ancestors(first.length)
    if (now.length === first.length && now.every((pid, i) => pid === first[i])) return
    clearInterval(timer)
    onGone()
  }, options.intervalMs ?? 250)
  timer.unref()
  return () => clearInterval(timer)
}
