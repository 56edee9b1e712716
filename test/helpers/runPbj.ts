import { vi } from 'vitest'
import { main } from '#pbj/cli/main.js'

/**
 * Runs `pbj …` in this process, as the `pbj` binary would, and returns its exit code and what it wrote to
 * stdout and stderr (captured, not printed).
 *
 * @example
 * const { code, stdout } = await runPbj('devices', '--dir', dir, '--json')
 */
export async function runPbj(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0)
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0)
  try {
    const code = await main(args)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    stdout.mockRestore()
    stderr.mockRestore()
  }
}
