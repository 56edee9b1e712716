import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { parentPidOf } from './watchParent.js'

const watchParentUrl = new URL('./watchParent.ts', import.meta.url).href
const tsx = import.meta.resolve('tsx')

/** A node that watches its parent (`levels` deep), prints its pid, and exits 0 when the watch fires. */
const watcher = (levels: number) =>
  `node --import ${tsx} --input-type=module -e "` +
  `const { watchParent } = await import('${watchParentUrl}');` +
  `watchParent(() => process.exit(0), { levels: ${levels}, intervalMs: 50 });` +
  `console.log(process.pid); setInterval(() => {}, 1000)"`

const started: number[] = []
/** Running, not a zombie waiting for a busy init to reap it. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}
const until = async (check: () => boolean, ms: number) => {
  const end = Date.now() + ms
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  return check()
}

/**
 * Spawns `node -e <launcher>` whose child runs `command` through `sh -c`, and resolves with the launcher
 * and the watcher's pid once it printed it.
 */
async function launch(command: string, viaShellThatStays: boolean) {
  // `; true` keeps dash from exec'ing the command: the shell stays between launcher and watcher, as npm's does.
  const shell = viaShellThatStays ? `${command}; true` : `exec ${command}`
  const launcher = spawn(
    process.execPath,
    [
      '-e',
      `require('node:child_process').spawn('sh', ['-c', ${JSON.stringify(shell)}], { stdio: 'inherit' }); setInterval(() => {}, 1000)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  started.push(launcher.pid as number)
  const pid = await new Promise<number>((resolve, reject) => {
    launcher.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    launcher.once('exit', () => reject(new Error('launcher exited')))
  })
  started.push(pid, parentPidOf(pid) ?? pid)
  return { launcher, pid }
}

afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
})

describe('watchParent', () => {
  it('reads a parent pid from /proc', () => {
    expect(parentPidOf(process.pid)).toBe(process.ppid)
    expect(parentPidOf(2 ** 22 + 7)).toBeNull()
  })

  it('calls back when its parent is SIGKILLed', async () => {
    const { launcher, pid } = await launch(watcher(1), false)
    expect(parentPidOf(pid)).toBe(launcher.pid)
    await new Promise((r) => setTimeout(r, 200))
    expect(alive(pid)).toBe(true)
    const killedAt = Date.now()
    launcher.kill('SIGKILL')
    expect(await until(() => !alive(pid), 3_000)).toBe(true)
    expect(Date.now() - killedAt).toBeLessThan(1_500)
  })

  it('levels: 2 sees a SIGKILLed grandparent behind a shell that stays; levels: 1 does not', async () => {
    const deep = await launch(watcher(2), true)
    const shallow = await launch(watcher(1), true)
    for (const { launcher, pid } of [deep, shallow]) {
      // launcher → sh → watcher
      expect(parentPidOf(parentPidOf(pid) as number)).toBe(launcher.pid)
      launcher.kill('SIGKILL')
    }
    expect(await until(() => !alive(deep.pid), 3_000)).toBe(true)
    // The shell is still its parent: a one-level watch cannot tell.
    expect(alive(shallow.pid)).toBe(true)
  })
})
