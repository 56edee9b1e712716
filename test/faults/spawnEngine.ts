import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../packages/pbj/bin/pbj.js', import.meta.url))

/**
 * Starts `pbj start --dir <project>` as its own process (with the sandbox flag, so there is no re-exec and
 * `kill -9` hits the engine itself). Test helper for crash injection.
 *
 * @example
 * const engine = spawnEngine(dir); engine.kill('SIGKILL')
 */
export function spawnEngine(dir: string, onOutput?: (line: string) => void): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', '--import', 'tsx', bin, 'start', '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) onOutput?.(line)
  }
  child.stdout?.on('data', forward)
  child.stderr?.on('data', forward)
  return child
}

/** Resolves when the process has exited. @example await exited(child) */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}
