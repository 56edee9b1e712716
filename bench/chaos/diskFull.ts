import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { hasStackTrace, tailOf } from './lib/spawnPbj.js'
import { getHealth, startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * The store on a small tmpfs the harness mounts (needs root), filled up while the engine runs and blocks
 * that lock a car come in: the engine stays up, /healthz 200 and /readyz 503, logs the episode once with
 * `diskFull: true` and no stack trace; once space returns it is ready again and the car is locked.
 */
export const diskFull: Scenario = {
  name: 'disk-full',
  timeoutMs: 120_000,
  checks: 'disk full: stays up, /healthz 200, /readyz 503, no stack trace, resumes when space returns',
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'pbj-chaos-disk-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' })
    } catch (error) {
      rmSync(dir, { recursive: true, force: true })
      ctx.expect(false, `cannot mount a tmpfs (run as root): ${(error as Error).message.split('\n')[0]}`)
      return
    }
    // Cleanups run newest first: the stack stops (its engine killed), then the tmpfs goes.
    ctx.onCleanup(() => {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
      } catch {}
      rmSync(dir, { recursive: true, force: true })
    })
    const stack = await startChaosStack({ cars: 2, dir })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig()
    const engine = startEngine(ctx, stack.dir, 'disk')
    if (!(await waitRunning(ctx, engine, 'before the disk fills'))) return
    const url = await engine.healthUrl(0)
    // The write-ahead log reuses its own space after a checkpoint: empty it first, so the engine's next
    // commit must grow it on the full filesystem (else a full disk can go unnoticed for a while).
    try {
      const db = new Database(stack.database, { timeout: 2000 })
      db.pragma('wal_checkpoint(TRUNCATE)')
      db.close()
    } catch (error) {
      ctx.log(`could not empty the write-ahead log first: ${(error as Error).message}`)
    }
    const filler = join(dir, 'filler')
    const filled = fill(filler)
    ctx.log(`filled the tmpfs with ${Math.round(filled / 1024)} KiB`)
    const since = engine.lines.length
    await stack.walkToLock(1000)
    // Writes fail on the next blocks: the engine must notice, stay up and say it is not ready.
    let notReady = false
    const deadline = Date.now() + 20_000
    while (!notReady && Date.now() < deadline && !engine.exited()) {
      if (url) notReady = (await getHealth(url, '/readyz')).status === 503
      await new Promise((r) => setTimeout(r, 250))
    }
    if (!url) await new Promise((r) => setTimeout(r, 3000))
    ctx.exitCode('disk full', engine.exited()?.code ?? null)
    if (!ctx.expect(engine.exited() === undefined, `exited on disk full (${tailOf(engine.lines)})`)) return
    ctx.expect(url !== null, 'no healthUrl: /readyz cannot be checked')
    if (url) {
      ctx.expect(notReady, '/readyz never answered 503 while the disk was full')
      const alive = await getHealth(url, '/healthz')
      ctx.expect(alive.status === 200, `/healthz ${alive.status} while the disk was full (expected 200)`)
    }
    const episode = engine.lines.slice(since)
    ctx.expect(!hasStackTrace(episode), 'a stack trace was logged while the disk was full')
    const records = episode.filter((l) => l.record?.diskFull === true)
    ctx.expect(
      records.length === 1,
      `${records.length} log records with diskFull: true in the episode (expected exactly 1)`,
    )
    ctx.expect(
      records.every((r) => r.record?.level === 50),
      'the diskFull record is not at level error',
    )
    rmSync(filler)
    ctx.log('space returned')
    if (url) {
      let ready = false
      const until = Date.now() + 30_000
      while (!ready && Date.now() < until) {
        ready = (await getHealth(url, '/readyz')).status === 200
        if (!ready) await new Promise((r) => setTimeout(r, 250))
      }
      ctx.expect(ready, '/readyz not 200 within 30 s after space returned')
    }
    ctx.expect(
      await stack.waitForCars((c) => !c.payer, 30_000),
      'the cars did not converge after space returned',
    )
    const counts = await stack.counts()
    ctx.add('lost', counts.lost)
    ctx.add('duplicated', counts.duplicated)
    ctx.add('wrongLocks', counts.wrongLocks)
    ctx.exitCode('SIGTERM', await stopEngine(engine))
  },
}

/** Writes `path` until the filesystem has no byte left; returns how many bytes it took. */
function fill(path: string): number {
  const fd = openSync(path, 'w')
  let written = 0
  try {
    for (const size of [256 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0xaa)
      for (;;) {
        try {
          written += writeSync(fd, chunk)
        } catch {
          break
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return written
}
