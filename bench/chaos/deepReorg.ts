import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { tailOf } from './lib/spawnPbj.js'
import { startEngine, stopEngine, waitRunning } from './lib/steps.js'

const day = 86_400
/** The reorg window the scenario configures (`chain.maxReorgDepth`), so a deep reorg is quick to make. */
const window = 8

/**
 * A reorg deeper than the engine's window that takes a payment away: the car was warned, its owner paid
 * (pbj cleared the warning), then a reorg from before the payment replaces more blocks than the window
 * holds. The engine must not stall: it resumes from the new chain, logs the deep reorg as an error with
 * `deepReorg: true`, reconciles, and the car ends locked once its lock time passes (else `unhealedDrift`).
 */
export const deepReorg: Scenario = {
  name: 'deep-reorg',
  timeoutMs: 120_000,
  checks: 'a reorg deeper than the window with a vanished payment: resumes, logs it, the car ends locked',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 1 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig({ chain: { startBlock: 0, maxReorgDepth: window } })
    const car = stack.cars[0]
    if (!car) return
    const engine = startEngine(ctx, stack.dir, 'reorg')
    if (!(await waitRunning(ctx, engine, 'start'))) return
    const due = Number(car.firstDueAt)
    await stack.mineAt(due + 60)
    await new Promise((r) => setTimeout(r, 1500))
    await stack.mineAt(due + day + 60)
    await new Promise((r) => setTimeout(r, 1500))
    const paid = await stack.pay(car)
    ctx.expect(!(await stack.isDelinquent(car)), 'the loan is delinquent right after its payment')
    await stack.test.mine({ blocks: window + 5 })
    await new Promise((r) => setTimeout(r, 3000))
    const head = await stack.clients.publicClient.getBlockNumber({ cacheTime: 0 })
    const depth = Number(head - paid.blockNumber) + 1
    ctx.log(
      `payment in block ${paid.blockNumber}; reorg of ${depth} blocks from head ${head} (window ${window})`,
    )
    await stack.test.request({ method: 'anvil_reorg', params: [depth, []] } as never)
    // The engine sees the deep reorg and its pass runs while the lock time is still ahead on the new chain
    // (the car is only warned): no function timer is left for it, the reconciler's schedule must lock it.
    await engine.waitForLine((l) => l.record?.deepReorg === true, 20_000)
    await new Promise((r) => setTimeout(r, 3000))
    // The lock time passes on the new chain, where the installment was never paid.
    await stack.mineAt(due + 3 * day + 60)
    // and the chain goes on (a scheduled re-check acts once the block past the lock time is one block deep)
    await new Promise((r) => setTimeout(r, 1000))
    await stack.test.mine({ blocks: 1 })
    const delinquent = await stack.isDelinquent(car)
    ctx.expect(delinquent, 'the loan is not delinquent on the new chain: the payment did not vanish')
    const locked = await stack.waitForCars(() => delinquent, 45_000)
    if (!locked) ctx.add('unhealedDrift', 1)
    ctx.expect(locked, `the car is not locked 45 s after the deep reorg (${tailOf(engine.lines)})`)
    ctx.exitCode('after the deep reorg', engine.exited()?.code ?? null)
    ctx.expect(engine.exited() === undefined, 'the engine exited on the deep reorg')
    const said = engine.lines.filter((l) => l.record?.deepReorg === true)
    ctx.expect(said.length > 0, 'no log record with deepReorg: true')
    ctx.expect(
      said.every((l) => l.record?.level === 50),
      'the deepReorg record is not at level error',
    )
    const counts = await stack.counts()
    ctx.add('duplicated', counts.duplicated)
    ctx.exitCode('SIGTERM', await stopEngine(engine))
  },
}
