import Database from 'better-sqlite3'
import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * Two locked cars whose owners pay, each drifting from what the chain says in its own way:
 * - A was offline when its unlock was sent, and the broker lost the retained message (restarted): it comes
 *   back, from its state file, still locked — a reconnecting car that missed its command;
 * - B's desired state is erased from pbj's store behind its back while it is paid, so the payment's
 *   function sees nothing to undo (its edge-triggered path skips it); then the old record (locked) is put
 *   back: pbj's record says locked, so does the car, the chain says current.
 * The chain says both loans are current: reconciliation (at start, or periodic) must unlock both.
 */
export const drift: Scenario = {
  name: 'drift',
  timeoutMs: 150_000,
  checks: 'cars drifting from the chain (missed command, desired state changed behind pbj) are reconciled',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2, payers: false })
    ctx.onCleanup(() => stack.stop())
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
    // B: its desired state erased from pbj's store, it is paid, and an engine processes the payment: the
    // payment's function sees nothing to undo. Then the erased record comes back as it was (locked): pbj's
    // record, the car and the chain disagree, and no event is left to say so.
    const saved = readDesired(stack.database, b.deviceId)
    if (!ctx.expect(saved !== undefined, "no row for car B in the store's devices table")) return
    writeDesired(stack.database, b.deviceId, null)
    const paid = await stack.pay(b)
    const middle = startEngine(ctx, stack.dir, 'middle')
    if (!(await waitRunning(ctx, middle, 'middle'))) return
    ctx.expect(
      await waitProcessed(stack.database, paid.blockNumber, 30_000),
      "the engine did not process B's payment block",
    )
    ctx.exitCode('middle SIGTERM', await stopEngine(middle))
    writeDesired(stack.database, b.deviceId, saved ?? null)
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

const readDesired = (path: string, deviceId: string): string | null | undefined => {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const row = db.prepare('SELECT desired FROM devices WHERE lower(device_id) = lower(?)').get(deviceId) as
      | { desired: string | null }
      | undefined
    return row?.desired
  } finally {
    db.close()
  }
}

const writeDesired = (path: string, deviceId: string, desired: string | null) => {
  const db = new Database(path, { timeout: 2000 })
  try {
    db.prepare('UPDATE devices SET desired = ? WHERE lower(device_id) = lower(?)').run(desired, deviceId)
  } finally {
    db.close()
  }
}

/** Waits until the store's cursor reached `block` and no job is left to run. */
async function waitProcessed(path: string, block: bigint, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      const db = new Database(path, { readonly: true, fileMustExist: true })
      try {
        const cursor = db.prepare('SELECT max(number) AS n FROM cursor').get() as { n: number | null }
        const open = db
          .prepare("SELECT count(*) AS n FROM jobs WHERE status IN ('pending', 'running')")
          .get() as { n: number }
        if (cursor.n !== null && BigInt(cursor.n) >= block && open.n === 0) return true
      } finally {
        db.close()
      }
    } catch {}
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 200))
  }
}
