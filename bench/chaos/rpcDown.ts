import { createRpcProxy } from '#test/helpers/createRpcProxy.js'
import { startChaosStack } from './lib/chaosStack.js'
import type { Scenario } from './lib/scenario.js'
import { tailOf } from './lib/spawnPbj.js'
import { getHealth, startEngine, stopEngine, waitRunning } from './lib/steps.js'

/**
 * The node unreachable when `pbj start` starts (a proxy in front of Anvil resets every connection): the
 * engine waits instead of exiting, answering /healthz 200 and /readyz 503; once the node answers it runs,
 * and the delinquent car gets locked.
 */
export const rpcDownAtStart: Scenario = {
  name: 'rpc-down-at-start',
  timeoutMs: 90_000,
  checks: 'RPC down at start: waits with /healthz 200 and /readyz 503, then runs when the node is back',
  async run(ctx) {
    const stack = await startChaosStack({ cars: 2 })
    ctx.onCleanup(() => stack.stop())
    const proxy = await createRpcProxy(stack.anvil.rpcUrl)
    ctx.onCleanup(() => proxy.close())
    proxy.setFaults({ down: true })
    stack.writeConfig({ rpcUrl: [proxy.wsUrl, proxy.httpUrl] })
    const engine = startEngine(ctx, stack.dir, 'rpc down')
    const url = await engine.healthUrl(30_000)
    ctx.expect(
      url !== null,
      `no 'health endpoints listening' record while the node is down (${tailOf(engine.lines)})`,
    )
    // Long enough for a start-up that gives up on the node to have given up.
    await new Promise((r) => setTimeout(r, 4000))
    ctx.exitCode('while the node is down', engine.exited()?.code ?? null)
    if (
      !ctx.expect(engine.exited() === undefined, `exited while the node was down (${tailOf(engine.lines)})`)
    )
      return
    if (url) {
      const alive = await getHealth(url, '/healthz')
      ctx.expect(alive.status === 200, `/healthz ${alive.status} while waiting for the node (expected 200)`)
      const ready = await getHealth(url, '/readyz')
      ctx.expect(ready.status === 503, `/readyz ${ready.status} while waiting for the node (expected 503)`)
    }
    proxy.setFaults({})
    if (!(await waitRunning(ctx, engine, 'after the node came up', 45_000))) return
    await stack.walkToLock()
    ctx.expect(
      await stack.waitForCars((c) => !c.payer, 30_000),
      'the cars did not converge after the node came up',
    )
    const counts = await stack.counts()
    ctx.add('lost', counts.lost)
    ctx.add('duplicated', counts.duplicated)
    ctx.add('wrongLocks', counts.wrongLocks)
    ctx.exitCode('SIGTERM', await stopEngine(engine))
  },
}
