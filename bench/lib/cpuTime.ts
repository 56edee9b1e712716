import { readFileSync } from 'node:fs'

/**
 * CPU time this process has used, all threads (the engine's main thread, its isolate and libuv threads, the
 * embedded broker), in µs.
 *
 * @example
 * const before = ownCpuUs(); work(); const spent = ownCpuUs() - before
 */
export function ownCpuUs(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/**
 * CPU time another process has used, all threads, in µs, from `/proc/<pid>/stat` (utime + stime). Linux
 * counts it in clock ticks (10 ms here), so a single short move reads as 0 or 10 ms: sum many moves and
 * divide. `undefined` where /proc is not there or the process is gone.
 *
 * @example
 * const before = processCpuUs(car.pid); await moves(); const perMove = (processCpuUs(car.pid)! - before!) / n
 */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces: the fields after it start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks * 1_000_000) / clockTicksPerSecond
  } catch {
    return undefined
  }
}

/** `getconf CLK_TCK`: 100 on every Linux Node supports. */
const clockTicksPerSecond = 100
