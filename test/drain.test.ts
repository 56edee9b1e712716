// SIGTERM as a supervisor sends it to `pbj start` (the real binary, a real Anvil, broker and SQLite file):
// the engine drains and exits 0; a second SIGTERM exits 1 at once and the run it cut short runs again at the
// next start; launched in the background by a shell that exits, `pbj start` keeps running.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pbjBin } from '#test/helpers/pbjProcess.js'
import { isAlive, until } from '#test/helpers/processTree.js'
import { runPbj } from '#test/helpers/runPbj.js'
import {
  createStartProjects,
  repoRoot as root,
  slowFunction as slow,
  tickFunction as tick,
} from '#test/helpers/startProjects.js'

// One chain per test, so that the tests can run side by side without mining blocks into each other's runs.
const envs = {
  drain: createStartProjects('drain'),
  again: createStartProjects('drain-again'),
  daemon: createStartProjects('daemon'),
}
beforeAll(() => Promise.all(Object.values(envs).map((e) => e.setup())))
afterAll(() => Promise.all(Object.values(envs).map((e) => e.teardown())))

/** The `slow` runs recorded in the project's store, by the block each logged. */
async function slowRuns(dir: string) {
  const { code, stdout } = await runPbj(
    'runs',
    '--dir',
    dir,
    '--json',
    '--function',
    'slow',
    '--limit',
    '100',
  )
  expect(code).toBe(0)
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { status: string; logs: { message: string }[] })
    .map((run) => ({
      status: run.status,
      block: run.logs.map((l) => l.message).find((m) => m.startsWith('slow ')),
    }))
}

describe.concurrent('pbj start: SIGTERM drains', () => {
  it('SIGTERM while a slow run is in flight: the run finishes, recorded ok, and pbj exits 0', async () => {
    const { project, start, rpc, blockNumber } = envs.drain
    const dir = project('drain', {}, { 'slow.ts': slow })
    const pbj = start(dir)
    await pbj.waitForStderr('engine running')
    await rpc('evm_mine')
    const mined = await blockNumber()
    // The run has started (it takes 1.5 s) when the signal comes.
    await new Promise((r) => setTimeout(r, 500))
    const signalledAt = Date.now()
    pbj.child.kill('SIGTERM')
    const { code, signal, at } = await pbj.exited
    expect({ code, signal, stderr: pbj.stderr() }).toMatchObject({ code: 0, signal: null })
    expect(pbj.stderr()).toContain('SIGTERM: stopping')
    console.log(`drain: exit 0 ${at - signalledAt} ms after SIGTERM`)
    await new Promise((r) => setTimeout(r, 300))
    expect(pbj.tree.alive().map((p) => p.args)).toEqual([])
    const runs = await slowRuns(dir)
    expect(runs.filter((r) => r.block === `slow ${mined}`)).toEqual([
      { status: 'ok', block: `slow ${mined}` },
    ])
  }, 60_000)

  it('a second SIGTERM while draining exits 1 at once; the cut-short run runs again at the next start, once', async () => {
    const { project, start, rpc, blockNumber } = envs.again
    const dir = project('second-signal', {}, { 'slow.ts': slow })
    const first = start(dir)
    await first.waitForStderr('engine running')
    await rpc('evm_mine')
    const mined = await blockNumber()
    await new Promise((r) => setTimeout(r, 300))
    first.child.kill('SIGTERM')
    await first.waitForStderr('SIGTERM: stopping', 5_000)
    // Past the window in which a repeated signal counts as the same stop (Ctrl-C reaching both processes).
    await new Promise((r) => setTimeout(r, 400))
    const againAt = Date.now()
    first.child.kill('SIGTERM')
    const { code, at, signal } = await first.exited
    expect({ code, signal, stderr: first.stderr() }).toMatchObject({ code: 1, signal: null })
    expect(first.stderr()).toContain('SIGTERM again while stopping: exiting now')
    expect(at - againAt).toBeLessThan(1_000)
    await new Promise((r) => setTimeout(r, 300))
    expect(first.tree.alive().map((p) => p.args)).toEqual([])
    expect((await slowRuns(dir)).filter((r) => r.status === 'ok' && r.block === `slow ${mined}`)).toEqual([])

    // The next start re-runs the job it left unfinished: one ok run for that block.
    const second = start(dir)
    await second.waitForStderr('engine running')
    const deadline = Date.now() + 20_000
    let runs = await slowRuns(dir)
    while (Date.now() < deadline && !runs.some((r) => r.status === 'ok' && r.block === `slow ${mined}`)) {
      await new Promise((r) => setTimeout(r, 250))
      runs = await slowRuns(dir)
    }
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
    runs = await slowRuns(dir)
    expect(runs.filter((r) => r.status === 'ok' && r.block === `slow ${mined}`)).toHaveLength(1)
  }, 60_000)

  it('keeps running when the shell that launched it in the background exits; SIGTERM still drains it', async () => {
    const { project } = envs.daemon
    const dir = project('daemon', {}, { 'tick.ts': tick })
    const log = join(dir, 'pbj.log')
    // `sh -c '… &'` returns at once: the wrapper is re-parented, as under `nohup pbj start &`.
    const pid = Number(
      execFileSync(
        'sh',
        ['-c', `"${process.execPath}" "${pbjBin}" start --dir "${dir}" >"${log}" 2>&1 & echo $!`],
        {
          cwd: root,
          encoding: 'utf8',
        },
      ).trim(),
    )
    try {
      const text = () => readFileSync(log, 'utf8')
      expect(await until(() => text().includes('engine running'), 60_000)).toBe(true)
      // Several polls of watchParent later, it still runs.
      await new Promise((r) => setTimeout(r, 1_500))
      expect(isAlive(pid)).toBe(true)
      expect(text()).not.toContain('parent process is gone')
      process.kill(pid, 'SIGTERM')
      expect(await until(() => !isAlive(pid), 10_000)).toBe(true)
      expect(text()).toContain('SIGTERM: stopping')
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    }
  }, 90_000)
})
