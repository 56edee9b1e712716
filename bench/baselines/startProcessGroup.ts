import { type ChildProcess, spawn } from 'node:child_process'

/** A child process leading its own process group, so it can be stopped with everything it started. */
export type ProcessGroup = {
  child: ChildProcess
  /** Resolves when the child exits, with its code or signal. */
  exited: Promise<string>
  /** The child's last output lines (stdout and stderr), for error messages. */
  tail(): string
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves when the child is gone. Safe to call twice. */
  kill(graceMs?: number): Promise<void>
}

/**
 * Spawns `command` as the leader of a new process group (`detached`) and makes sure the group dies with the
 * bench: on `kill()`, on this process's exit, and on SIGINT/SIGTERM (which, being in its own group, the child
 * would not get from the terminal). Tools like Ponder start helpers of their own (esbuild's service, workers):
 * killing only the leader would leave them running.
 *
 * @example
 * const group = startProcessGroup(process.execPath, [ponderBin, 'start'], { cwd, env, onLine: log })
 * await group.kill()
 */
export function startProcessGroup(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; onLine?: (line: string) => void },
): ProcessGroup {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const onOutput = (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) {
      if (!line.trim()) continue
      lines.push(line)
      if (lines.length > 30) lines.shift()
      options.onLine?.(line)
    }
  }
  child.stdout?.on('data', onOutput)
  child.stderr?.on('data', onOutput)
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`))
    child.once('error', (error) => resolve(`could not start: ${error.message}`))
  })

  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid, signal)
    } catch {
      // The group is already gone.
    }
  }
  const onExit = () => signalGroup('SIGKILL')
  const onSignal = (signal: NodeJS.Signals) => {
    signalGroup('SIGKILL')
    removeGuards()
    // Re-raise so the bench still stops the way it would have without this listener (unless someone else
    // listens, who then decides).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }
  const removeGuards = () => {
    process.off('exit', onExit)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  process.on('exit', onExit)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  let killing: Promise<void> | undefined
  return {
    child,
    exited,
    tail: () => lines.join('\n'),
    kill: (graceMs = 5_000) => {
      killing ??= (async () => {
        signalGroup('SIGTERM')
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
        // The leader is gone; helpers it left behind in the group may not be.
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL')
          } catch {
            // Nobody left in the group.
          }
        }
        removeGuards()
      })()
      return killing
    },
  }
}
