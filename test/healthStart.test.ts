import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPublicClient, createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { deployDemo } from '#pbj/demo/deployDemo.js'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { exited, spawnEngine } from './faults/spawnEngine.js'
import { createRpcProxy } from './helpers/createRpcProxy.js'

/** Polls `read` every 50 ms until it returns a value, for at most `ms`. */
async function until<T>(read: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('pbj start serves /healthz, /readyz and /metrics (real Anvil, broker, process)', () => {
  let anvil: AnvilNode
  let broker: EmbeddedBroker
  const dir = join(process.cwd(), 'node_modules', `.pbj-health-${process.pid}-${Date.now()}`)
  const engineLogin = { username: 'pbj-engine', password: randomBytes(18).toString('base64url') }

  let deployment: Awaited<ReturnType<typeof deployDemo>>
  /** A project folder whose pbj.config.json runs the demo's functions on `rpcUrl`, health on any free port. */
  const writeConfig = (folder: string, rpcUrl: string[]) => {
    mkdirSync(folder, { recursive: true })
    writeFileSync(
      join(folder, 'pbj.config.json'),
      JSON.stringify({
        rpcUrl,
        brokerUrl: broker.url,
        broker: engineLogin,
        database: join(folder, 'pbj.db'),
        functions: join(demoProjectDir, 'functions'),
        contracts: Object.fromEntries(
          Object.entries(deployment.contracts).map(([n, a]) => [n, { address: a }]),
        ),
        operatorKey: deployment.accounts.operator.privateKey,
        chain: { startBlock: 0 },
        health: { port: 0, readyLagBlocks: 2 },
      }),
    )
  }
  /** Waits for the engine's `health endpoints listening` record and returns its healthUrl. */
  const healthUrlOf = (lines: string[]) =>
    until(
      async () => {
        const line = lines.find((l) => l.includes('health endpoints listening'))
        return line ? (JSON.parse(line) as { healthUrl: string }).healthUrl : undefined
      },
      20_000,
      'the health endpoints log record',
    )

  beforeAll(async () => {
    anvil = await startAnvil()
    broker = await startEmbeddedBroker({ engineLogin })
    deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
    writeConfig(dir, [anvil.wsUrl, anvil.rpcUrl])
  }, 60_000)

  afterAll(async () => {
    await broker?.close()
    await anvil?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('logs its healthUrl, is ready once following the chain, and its metrics show the processed block', async () => {
    const lines: string[] = []
    const engine = spawnEngine(dir, (line) => lines.push(line))
    try {
      // The one record that says where the endpoints are: JSON on stderr (not a terminal).
      const healthUrl = await healthUrlOf(lines)
      expect(healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const alive = await fetch(`${healthUrl}/healthz`)
      expect(alive.status).toBe(200)
      expect(await alive.json()).toEqual({ status: 'alive' })

      const ready = await until(
        async () => {
          const res = await fetch(`${healthUrl}/readyz`)
          return res.status === 200 ? ((await res.json()) as { ready: boolean; checks: object }) : undefined
        },
        20_000,
        '/readyz 200',
      )
      expect(ready.ready).toBe(true)
      expect(Object.keys(ready.checks).sort()).toEqual(['broker', 'chain', 'lag', 'store'])

      // A new block is processed and shows on /metrics.
      const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
      await test.mine({ blocks: 1 })
      const head = Number(await createPublicClient({ transport: http(anvil.rpcUrl) }).getBlockNumber())
      const metrics = await until(
        async () => {
          const res = await fetch(`${healthUrl}/metrics`)
          const body = await res.text()
          const processed = Number(/^pbj_processed_block (\d+)$/m.exec(body)?.[1] ?? -1)
          return processed >= head ? { res, body, processed } : undefined
        },
        10_000,
        `pbj_processed_block ${head}`,
      )
      expect(metrics.res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      expect(metrics.processed).toBeGreaterThan(0)
      expect(metrics.body).toMatch(/^pbj_ready 1$/m)
      expect(metrics.body).toMatch(/^pbj_health_check\{check="broker"\} 1$/m)
      expect(metrics.body).toMatch(/^pbj_head_block \d+$/m)
      expect(metrics.body).toMatch(/^pbj_lag_blocks 0$/m)
      expect(metrics.body).toMatch(/^pbj_devices_drifting 0$/m)
      // Process metrics on the engine's own registry, prefixed too.
      expect(metrics.body).toMatch(/^pbj_process_resident_memory_bytes \d+/m)

      // The broker goes away: not ready, saying which check and why; back when it returns.
      const port = broker.port
      await broker.close()
      const down = await until(
        async () => {
          const res = await fetch(`${healthUrl}/readyz`)
          return res.status === 503
            ? ((await res.json()) as { checks: Record<string, { ok: boolean; detail?: string }> })
            : undefined
        },
        10_000,
        '/readyz 503 with the broker down',
      )
      expect(down.checks.broker).toMatchObject({ ok: false })
      expect(down.checks.broker?.detail).toContain('disconnected')
      expect((await fetch(`${healthUrl}/healthz`)).status).toBe(200)
      broker = await startEmbeddedBroker({ port, engineLogin })
      await until(
        async () => ((await fetch(`${healthUrl}/readyz`)).status === 200 ? true : undefined),
        15_000,
        '/readyz 200 with the broker back',
      )
    } finally {
      engine.kill('SIGTERM')
      await exited(engine)
    }
  }, 90_000)

  it('answers /healthz 200 and /readyz 503 (chain not ok) while it waits for a slow RPC, then becomes ready', async () => {
    const proxy = await createRpcProxy(anvil.rpcUrl)
    proxy.setFaults({ delayMs: 4_000 })
    const slow = `${dir}-slow`
    writeConfig(slow, [proxy.wsUrl, proxy.httpUrl])
    const lines: string[] = []
    const engine = spawnEngine(slow, (line) => lines.push(line))
    try {
      const healthUrl = await healthUrlOf(lines)
      expect((await fetch(`${healthUrl}/healthz`)).status).toBe(200)
      const waiting = await fetch(`${healthUrl}/readyz`)
      expect(waiting.status).toBe(503)
      const report = (await waiting.json()) as { checks: Record<string, { ok: boolean; detail?: string }> }
      expect(report.checks.chain).toMatchObject({ ok: false })
      expect(report.checks.chain?.detail).toContain('connecting to')
      // No metrics before the engine exists.
      expect((await fetch(`${healthUrl}/metrics`)).status).toBe(404)
      proxy.setFaults({})
      await until(
        async () => ((await fetch(`${healthUrl}/readyz`)).status === 200 ? true : undefined),
        30_000,
        '/readyz 200 once connected',
      )
      expect((await fetch(`${healthUrl}/metrics`)).status).toBe(200)
    } finally {
      engine.kill('SIGTERM')
      await exited(engine)
      await proxy.close()
      rmSync(slow, { recursive: true, force: true })
    }
  }, 90_000)
})
