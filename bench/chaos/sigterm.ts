import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { tailOf } from './lib/spawnPbj.js'
import { countOrphans, exitCodes, startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * SIGTERM to the wrapper right as the block that locks a car is mined (its run may be in flight): the
 * engine drains and exits 0, leaving no process; after a restart nothing is lost or applied twice.
 */
export const sigtermDuringRun: Scenario = {
  name: 'sigterm-during-run',
  timeoutMs: 90_000,
  checks: 'SIGTERM during a run: exit 0, no orphans, nothing lost or duplicated after a restart',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig({ limits: { timeoutMs: 2000, isolation: 'process' } })
    const first = startEngine(ctx, stack.dir, 'first')
    if (!(await waitRunning(ctx, first, 'first'))) return
    await stack.walkToLock(1500, async (step) => {
      if (step !== 'lock') return
      first.tree.scan()
      await new Promise((r) => setTimeout(r, Math.random() * 30))
      first.kill('SIGTERM')
    })
    const exit = await first.waitExit(15_000)
    ctx.exitCode('SIGTERM', exit ? exit.code : null)
    ctx.expect(
      exit?.code === exitCodes.ok,
      `SIGTERM: exit ${exit ? (exit.code ?? exit.signal) : 'none within 15 s'}, expected 0 (${tailOf(first.lines)})`,
    )
    await countOrphans(ctx, first, 'SIGTERM')
    const second = startEngine(ctx, stack.dir, 'restart')
    if (!(await waitRunning(ctx, second, 'restart'))) return
    ctx.expect(
      await stack.waitForCars((c) => !c.payer, 30_000),
      'after the restart the cars did not converge',
    )
    const counts = await stack.counts()
    ctx.add('lost', counts.lost)
    ctx.add('duplicated', counts.duplicated)
    ctx.add('wrongLocks', counts.wrongLocks)
    const code = await stopEngine(second)
    ctx.exitCode('restart SIGTERM', code)
    ctx.expect(code === exitCodes.ok, `SIGTERM of the restarted engine: exit ${code}, expected 0`)
  },
}
