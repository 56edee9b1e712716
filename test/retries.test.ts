import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { main } from '#pbj/cli/main.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'

const fns = makeFunctionsDir()
let anvil: AnvilNode
let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>
beforeAll(async () => {
  anvil = await startAnvil()
  broker = await startEmbeddedBroker()
})
afterAll(async () => {
  await broker?.close()
  await anvil?.stop()
  fns.remove()
})

/** An engine with one function that fails until its kv counter reaches `succeedAt`. */
async function engineWith(name: string, retry: string, succeedAt: number) {
  const file = fns.write(
    name,
    `export default defineFunction({
      trigger: { type: 'schedule', at: 1 },
      ${retry}
      async handler(ctx) {
        const n = ((await ctx.kv.get('n')) ?? 0) + 1
        await ctx.kv.set('n', n)
        if (n < ${succeedAt}) throw new Error('attempt ' + n + ' fails')
      },
    })`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'pbj-retries-'))
  const database = join(dir, 'pbj.db')
  writeFileSync(join(dir, 'pbj.config.json'), JSON.stringify({ database }))
  const engine = await createEngine({
    rpcUrl: anvil.wsUrl,
    brokerUrl: broker.url,
    database,
    functions: [await loadFunction(file)],
    retrySweepMs: 20,
  })
  const runs: EngineEvents['run'][] = []
  engine.events.on('run', (r) => runs.push(r))
  await engine.start()
  await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 1 })
  return { engine, runs, dir }
}

const settle = async (engine: Engine, jobStatus: (s: string) => boolean, runs: EngineEvents['run'][]) => {
  await vi.waitFor(
    async () => {
      const job = runs[0] ? await engine.store.getJob(runs[0].jobId) : null
      expect(job && jobStatus(job.status)).toBe(true)
    },
    { timeout: 10_000, interval: 20 },
  )
}

describe('retries and the dead-letter state', () => {
  it("does not retry a function's own error under the default policy", async () => {
    const { engine, runs } = await engineWith('once', '', 99)
    await settle(engine, (s) => s === 'failed', runs)
    await new Promise((r) => setTimeout(r, 200))
    expect(runs).toHaveLength(1)
    expect(runs[0]?.run.error?.message).toContain('attempt 1 fails')
    await engine.stop()
  })

  it('retries with growing backoff up to maxAttempts, dead-letters, and `pbj runs retry` runs it again', async () => {
    const { engine, runs, dir } = await engineWith(
      'flaky',
      "retry: { maxAttempts: 3, backoffMs: 60, on: 'all' },",
      4,
    )
    await settle(engine, (s) => s === 'dead', runs)
    expect(runs.map((r) => r.run.attempt)).toEqual([1, 2, 3])
    const gaps = runs.slice(1).map((r, i) => r.startedAt - (runs[i] as EngineEvents['run']).startedAt)
    expect(gaps[0]).toBeGreaterThanOrEqual(30) // 60 ms × jitter 0.5–1.5
    expect(gaps[1]).toBeGreaterThanOrEqual(60) // 120 ms × jitter

    const out: string[] = []
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0)
    try {
      expect(await main(['runs', '--dead', '--dir', dir])).toBe(0)
      expect(out.join('')).toContain('dead   flaky')
      const jobId = runs[0]?.jobId as string
      expect(await main(['runs', 'retry', runs[2]?.run.id as string, '--dir', dir])).toBe(0)
      expect(out.at(-1)).toContain(`re-queued ${jobId}`)
    } finally {
      write.mockRestore()
    }
    // the running engine picks the re-queued job up from the store, and the 4th attempt succeeds
    await settle(engine, (s) => s === 'done', runs)
    expect(runs.at(-1)?.run).toMatchObject({ status: 'ok', attempt: 1 })
    expect(await engine.store.kvGet('flaky', 'n')).toBe('4')
    await engine.stop()
  })
})
