import { startChaosStack } from './lib/chaosStack.js'
import { descendantsOf } from './lib/processTree.js'
import type { Scenario } from './lib/scenario.js'
import { countOrphans, startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * kill -9 of one level of `pbj start` (the bin/pbj.js wrapper, or the inner engine it runs) right as the
 * block that locks a car is mined: no process of the tree may be left (the sandbox child and esbuild's
 * service included: the functions run with `isolation: 'process'`), and after a restart the delinquent car
 * is locked, the paying one never, no command applied twice.
 */
const killStart = (level: 'wrapper' | 'engine'): Scenario => ({
  name: `kill9-start-${level}`,
  timeoutMs: 90_000,
  checks: `kill -9 of the pbj start ${level}: no orphans; restart loses and duplicates nothing`,
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig({ limits: { timeoutMs: 2000, isolation: 'process' } })
    const first = startEngine(ctx, stack.dir, 'first')
    if (!(await waitRunning(ctx, first, 'first start'))) return
    await stack.walkToLock(1500, async (step) => {
      if (step !== 'lock') return
      first.tree.scan()
      const inner = descendantsOf(first.pid).find((p) => p.ppid === first.pid)
      const victim = level === 'wrapper' ? first.pid : inner?.pid
      if (!ctx.expect(victim !== undefined, `no inner engine process under the wrapper ${first.pid}`)) return
      await new Promise((r) => setTimeout(r, Math.random() * 50))
      process.kill(victim as number, 'SIGKILL')
    })
    const exit = await first.waitExit(5000)
    ctx.exitCode(`${level} killed: wrapper`, exit ? exit.code : null)
    ctx.log(`tree of ${first.tree.seen().length} processes killed at the ${level}`)
    await countOrphans(ctx, first, `kill -9 of the ${level}`)
    const second = startEngine(ctx, stack.dir, 'restart')
    if (!(await waitRunning(ctx, second, 'restart'))) return
    const converged = await stack.waitForCars((c) => !c.payer, 30_000)
    ctx.expect(
      converged,
      'after the restart the cars did not reach their state (delinquent locked, payer not)',
    )
    const counts = await stack.counts()
    ctx.add('lost', counts.lost)
    ctx.add('duplicated', counts.duplicated)
    ctx.add('wrongLocks', counts.wrongLocks)
    ctx.exitCode('restart SIGTERM', await stopEngine(second))
  },
})

export const killStartWrapper = killStart('wrapper')
export const killStartEngine = killStart('engine')
