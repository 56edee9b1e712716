import Database from 'better-sqlite3'
import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { noteConfig, startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * Two locked cars whose owners pay, each drifting from what the chain says in its own way:
 * - A was offline when its unlock was sent, and the broker lost the retained message (restarted): it comes
 *   back, from its state file, still locked — a reconnecting car that missed its command;
 * - B is paid while the engine is down, and its desired state is erased from pbj's store behind its back,
 *   so the payment's function sees nothing to undo (its edge-triggered path skips it).
 * The chain says both loans are current: reconciliation (at start, or periodic) must unlock both.
 */
export const drift: Scenario = {
  name: 'drift',
  timeoutMs: 120_000,
  checks: 'cars drifting from the chain (missed command, desired state changed behind pbj) are reconciled',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2, payers: false })
    ctx.onCleanup(() => stack.stop())
    noteConfig(ctx, stack)
    stack.writeConfig()
    const [a, b] = stack.cars
    if (!a || !b) return
    const first = startEngine(ctx, stack.dir, 'first')
    if (!(await waitRunning(ctx, first, 'first'))) return
    await stack.walkToLock()
    if (!ctx.expect(await stack.waitForCars(() => true, 30_000), 'the cars were never locked')) return
    // A goes offline; its owner pays; the engine sends the unlock into the broker's retained message.
    await stack.stopCar(a)
    await stack.pay(a)
    await new Promise((r) => setTimeout(r, 3000))
    ctx.exitCode('first SIGTERM', await stopEngine(first))
    // B is paid while the engine is down, and pbj's record of what B should be is erased.
    await stack.pay(b)
    const db = new Database(stack.database)
    const erased = db
      .prepare('UPDATE devices SET desired = NULL WHERE lower(device_id) = lower(?)')
      .run(b.deviceId).changes
    db.close()
    ctx.expect(erased === 1, `no row for car B in the store's devices table (${erased} changed)`)
    // The broker restarts: its retained messages (A's unlock among them) are gone. A comes back locked.
    await stack.restartBroker()
    await stack.startCar(a, true)
    ctx.expect(a.agent?.state().locked === true, 'car A did not come back locked from its state file')
    const second = startEngine(ctx, stack.dir, 'restart')
    if (!(await waitRunning(ctx, second, 'restart'))) return
    const healed = await stack.waitForCars(() => false, 45_000)
    const drifting = stack.cars.filter((c) => c.agent?.state().locked !== false)
    ctx.add('unhealedDrift', drifting.length)
    ctx.expect(
      healed,
      `${drifting.length} car(s) still locked 45 s after the restart though paid: ${drifting.map((c) => (c === a ? 'A (missed command)' : 'B (store changed)')).join(', ')}`,
    )
    const counts = await stack.counts()
    ctx.add('duplicated', counts.duplicated)
    ctx.exitCode('restart SIGTERM', await stopEngine(second))
  },
}
