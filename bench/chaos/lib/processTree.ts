import { readdirSync, readFileSync } from 'node:fs'

/** One process as /proc shows it: its parent, its state letter and its start time (to tell a reused pid). */
type ProcInfo = { pid: number; ppid: number; state: string; start: string }

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', start: rest[19] ?? '' }
  } catch {
    return null
  }
}

function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const info = readProc(Number(name))
    if (info) out.push(info)
  }
  return out
}

/** Every descendant of `root` now (children, their children…), not `root` itself. */
export function descendantsOf(root: number): ProcInfo[] {
  const procs = allProcs()
  const found: ProcInfo[] = []
  const frontier = [root]
  while (frontier.length > 0) {
    const parent = frontier.pop()
    for (const p of procs)
      if (p.ppid === parent) {
        found.push(p)
        frontier.push(p.pid)
      }
  }
  return found
}

/** True while the process that had this pid and start time is still running (a zombie is not running). */
export function stillRunning(p: { pid: number; start: string }): boolean {
  const now = readProc(p.pid)
  return now !== null && now.start === p.start && now.state !== 'Z' && now.state !== 'X'
}

/**
 * Watches a process tree from its root: every process that was ever a descendant while the root ran is
 * kept (a tree killed at its root loses its links at once: its children are re-parented), so what is left
 * after a kill can be found and counted as orphans.
 *
 * @example
 * const tree = watchTree(child.pid); …; child.kill('SIGKILL'); const left = await tree.survivors(3000)
 */
export function watchTree(root: number, everyMs = 100) {
  const seen = new Map<string, ProcInfo>()
  const rootInfo = readProc(root)
  if (rootInfo) seen.set(`${root}:${rootInfo.start}`, rootInfo)
  const scan = () => {
    for (const p of descendantsOf(root)) seen.set(`${p.pid}:${p.start}`, p)
    // A child whose parent died is no longer under root: follow it from its own pid.
    for (const p of [...seen.values()])
      if (p.pid !== root && stillRunning(p))
        for (const d of descendantsOf(p.pid)) seen.set(`${d.pid}:${d.start}`, d)
  }
  scan()
  const timer = setInterval(scan, everyMs)
  timer.unref()
  return {
    /** Scans now (call it right before a kill, so the last children are known). */
    scan,
    /** Every process seen in the tree, root included. */
    seen: () => [...seen.values()],
    /** Stops watching. */
    stop: () => clearInterval(timer),
    /**
     * Waits up to `graceMs` for every process seen to end; returns those still running (the orphans).
     */
    async survivors(graceMs: number): Promise<ProcInfo[]> {
      clearInterval(timer)
      const deadline = Date.now() + graceMs
      for (;;) {
        const left = [...seen.values()].filter(stillRunning)
        if (left.length === 0 || Date.now() >= deadline) return left
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    /** SIGKILLs every process seen that still runs (cleanup after a scenario, hung or not). */
    killAll() {
      clearInterval(timer)
      scan()
      for (const p of seen.values()) {
        if (!stillRunning(p)) continue
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {}
      }
    },
  }
}

export type ProcessTree = ReturnType<typeof watchTree>
