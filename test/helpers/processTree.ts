import { readdirSync, readFileSync } from 'node:fs'

/** One process as /proc shows it. */
export type ProcessInfo = { pid: number; ppid: number; state: string; args: string }

/** Every process /proc lists now (those that vanish while it is read are skipped). */
export function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // The command name (field 2) is in parentheses and may hold spaces: read after the last ')'.
      const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      found.push({ pid: Number(name), ppid: Number(ppid), state, args: argsOf(Number(name)) ?? '' })
    } catch {
      // Gone meanwhile.
    }
  }
  return found
}

/** The descendants of `pid` (children, their children…), read from /proc, nearest first. */
export function descendantsOf(pid: number): ProcessInfo[] {
  const all = listProcesses()
  const out: ProcessInfo[] = []
  let frontier = [pid]
  while (frontier.length > 0) {
    const next = all.filter((p) => frontier.includes(p.ppid))
    out.push(...next)
    frontier = next.map((p) => p.pid)
  }
  return out
}

/** Whether `pid` runs: present in /proc and not a zombie waiting for a busy init to reap it. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** The command line of `pid`, or null once it is gone. */
export function argsOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
  } catch {
    return null
  }
}

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function until(check: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, everyMs))
  return check()
}

/**
 * Remembers the root and every process seen under it while it runs, so that once the root is gone the test can ask
 * which of them outlived it (a child re-parented to init is no longer under the root).
 *
 * @example
 * const seen = watchTree(child.pid)
 * await exited
 * expect(seen.alive()).toEqual([])
 */
export function watchTree(root: number, everyMs = 100) {
  const seen = new Map<number, ProcessInfo>()
  const look = () => {
    const self = isAlive(root) && !seen.has(root) && listProcesses().find((p) => p.pid === root)
    if (self) seen.set(root, self)
    // Overwritten at each look: a child seen between fork and exec still shows its parent's command line.
    for (const p of descendantsOf(root)) seen.set(p.pid, p)
  }
  look()
  const timer = setInterval(look, everyMs)
  return {
    look,
    seen: () => [...seen.values()],
    /** Those seen that still run. */
    alive: () => [...seen.values()].filter((p) => isAlive(p.pid)),
    stop: () => clearInterval(timer),
    /**
     * SIGKILLs every one seen that still runs (test teardown) — only a pid whose command line is still the
     * one seen, never a process that reused the number.
     */
    kill: () => {
      clearInterval(timer)
      for (const p of seen.values())
        if (isAlive(p.pid) && argsOf(p.pid) === p.args)
          try {
            process.kill(p.pid, 'SIGKILL')
          } catch {
            // Already gone.
          }
    },
  }
}
