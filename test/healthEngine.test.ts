import { afterEach, describe, expect, it } from 'vitest'
import { instrumentEngine } from '#pbj/ops/instrumentEngine.js'
import { createRpcProxy, type RpcProxy } from './helpers/createRpcProxy.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

/** Polls `condition` every 50 ms for at most `ms`. */
async function until(condition: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('engine.health: the readiness checks follow the chain, the broker and the store', () => {
  let s: Scenario | undefined
  let proxy: RpcProxy | undefined
  afterEach(async () => {
    await s?.stop()
    await proxy?.close()
    s = undefined
    proxy = undefined
  })

  it('is ready when following; the RPC down makes `chain` fail with why, and its return makes it ok again', async () => {
    s = await startScenario({
      plainDevice: true,
      rpcUrl: async (anvil) => {
        proxy = await createRpcProxy(anvil.rpcUrl)
        return [proxy.wsUrl, proxy.httpUrl]
      },
    })
    const { health } = s.engine
    const stop = instrumentEngine(s.engine, { processMetrics: false })
    try {
      await s.mine()
      await until(() => health.report().ready, 5_000, 'ready')
      expect(Object.keys(health.report().checks).sort()).toEqual(['broker', 'chain', 'lag', 'store'])
      expect((await s.engine.metrics.scrape()).body).toMatch(/^pbj_ready 1$/m)

      ;(proxy as RpcProxy).setFaults({ down: true })
      // The follower's head poll (every 2 s) fails: not ready, and the check says what failed.
      await until(() => health.report().checks.chain?.ok === false, 6_000, 'chain not ok')
      const down = health.report()
      expect(down.ready).toBe(false)
      expect(down.checks.chain?.detail).toMatch(/head poll|RPC/)
      const { body } = await s.engine.metrics.scrape()
      expect(body).toMatch(/^pbj_ready 0$/m)
      expect(body).toMatch(/^pbj_health_check\{check="chain"\} 0$/m)

      ;(proxy as RpcProxy).setFaults({})
      await until(() => health.report().checks.chain?.ok === true, 8_000, 'chain ok again')
      await s.mine()
      await until(() => health.report().ready, 5_000, 'ready again')
    } finally {
      stop()
    }
  }, 60_000)
})
