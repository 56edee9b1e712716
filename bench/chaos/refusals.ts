import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { getFreePort } from '#pbj/internal/freePort.js'
import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { exitCodes, expectRefusal, getHealth, startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * A second `pbj start` on the store of a running one: it refuses with exit 4 within 1 s of its message,
 * and the first engine goes on unaffected: still running and alive, and (unless `quick`, as in `npm test`)
 * it still locks the delinquent car, never the paying one.
 */
export const secondEngineScenario = (options: { quick?: boolean } = {}): Scenario => ({
  name: 'second-engine',
  timeoutMs: 90_000,
  checks: 'a second engine on the same store: exit 4 within 1 s; the first unaffected',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig()
    const first = startEngine(ctx, stack.dir, 'first')
    if (!(await waitRunning(ctx, first, 'first'))) return
    const second = startEngine(ctx, stack.dir, 'second')
    await expectRefusal(ctx, second, {
      label: 'second engine',
      code: exitCodes.store,
      message: /another|already|locked|in use|lock file|held/i,
      waitMs: 20_000,
    })
    ctx.expect(first.exited() === undefined, 'the first engine ended when the second started')
    const url = await first.healthUrl(0)
    if (url) ctx.expect((await getHealth(url, '/healthz')).status === 200, 'first engine: /healthz not 200')
    if (options.quick) {
      ctx.exitCode('first engine SIGTERM', await stopEngine(first))
      return
    }
    await stack.walkToLock()
    ctx.expect(
      await stack.waitForCars((c) => !c.payer, 30_000),
      'the first engine did not lock the delinquent car after the second was refused',
    )
    const counts = await stack.counts()
    ctx.add('lost', counts.lost)
    ctx.add('duplicated', counts.duplicated)
    ctx.add('wrongLocks', counts.wrongLocks)
    ctx.exitCode('first engine SIGTERM', await stopEngine(first))
  },
})

export const secondEngine = secondEngineScenario()

/** A contract in the config whose address holds no code: exit 3 within 1 s of the message. */
export const contractWithoutCode: Scenario = {
  name: 'contract-without-code',
  timeoutMs: 60_000,
  checks: 'a contract without code in the config: exit 3 within 1 s',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 0 })
    ctx.onCleanup(() => stack.stop())
    const nowhere = privateKeyToAddress(generatePrivateKey())
    const contracts = { ...stack.config().contracts, CarLoan: { address: nowhere } }
    stack.writeConfig({ contracts })
    const engine = startEngine(ctx, stack.dir, 'no code')
    await expectRefusal(ctx, engine, {
      label: 'contract without code',
      code: exitCodes.config,
      message: /no code|without code|has no (contract )?code|not a contract/i,
      waitMs: 20_000,
    })
  },
}

/** A broker nobody listens at: exit 5 within 1 s of the message, no process of the tree left. */
export const brokerDown: Scenario = {
  name: 'broker-down',
  timeoutMs: 60_000,
  checks: 'broker unreachable at start: exit 5 within 1 s, no child left',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 0 })
    ctx.onCleanup(() => stack.stop())
    stack.writeConfig({ brokerUrl: `mqtt://127.0.0.1:${await getFreePort()}` })
    const engine = startEngine(ctx, stack.dir, 'no broker')
    await expectRefusal(ctx, engine, {
      label: 'broker unreachable',
      code: exitCodes.dependency,
      message: /broker/i,
      waitMs: 20_000,
    })
  },
}
