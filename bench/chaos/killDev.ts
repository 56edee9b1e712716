import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { descendantsOf } from './lib/processTree.js'
import type { Scenario } from './lib/scenario.js'
import { type PbjProcess, spawnPbj, tailOf } from './lib/spawnPbj.js'
import { countOrphans } from './lib/steps.js'

type Level = 'dev-wrapper' | 'dev-engine' | 'npm-run-dev'

/**
 * kill -9 of one level of a `pbj dev` stack (the wrapper, the inner process that runs Anvil, the broker and
 * the engine, or `npm run dev` above both) once it is up: no process of the tree (Anvil, esbuild's
 * service…) may be left.
 */
const killDev = (level: Level): Scenario => ({
  name: `kill9-${level}`,
  timeoutMs: 90_000,
  checks: `kill -9 of ${level === 'npm-run-dev' ? '`npm run dev`' : `the pbj dev ${level.slice(4)}`}: no orphans`,
  async run(ctx) {
    let dev: PbjProcess
    if (level === 'npm-run-dev') {
      // The root package's script, as a developer runs it (examples/car-loan, its .pbj/dev.db).
      dev = ctx.track(spawnPbj([], { command: ['npm', 'run', 'dev'] }))
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'pbj-chaos-dev-'))
      ctx.onCleanup(() => rmSync(dir, { recursive: true, force: true }))
      writeFileSync(
        join(dir, 'pbj.config.json'),
        JSON.stringify({ functions: join(demoProjectDir, 'functions'), database: join(dir, 'dev.db') }),
      )
      dev = ctx.track(spawnPbj(['dev', '--dir', dir]))
    }
    const up = await dev.waitForLine((l) => /pbj dev is running/.test(l.text), 60_000)
    if (!ctx.expect(up !== null, `pbj dev never said it was running (${tailOf(dev.lines)})`)) return
    dev.tree.scan()
    const all = dev.tree.seen()
    ctx.log(`tree of ${all.length} processes up`)
    // The inner pbj process is the wrapper's child; `npm run dev` is killed at its top (npm itself).
    const inner = descendantsOf(dev.pid).find((p) => p.ppid === dev.pid)
    const victim = level === 'dev-engine' ? inner?.pid : dev.pid
    if (!ctx.expect(victim !== undefined, `no inner pbj process found under ${dev.pid}`)) return
    process.kill(victim as number, 'SIGKILL')
    const exit = await dev.waitExit(5000)
    ctx.exitCode(`${level} killed: top process`, exit ? exit.code : null)
    await countOrphans(ctx, dev, `kill -9 of the ${level}`)
  },
})

export const killDevWrapper = killDev('dev-wrapper')
export const killDevEngine = killDev('dev-engine')
export const killNpmDev = killDev('npm-run-dev')
