import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir } from '../../../../test/fixtures/testFunctions.js'
import { createChainConnection } from '../chain/createChainConnection.js'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import type { ChainConnection } from '../chain/types.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Job } from '../core/job.js'
import type { Store } from '../core/store.js'
import { createEmitter } from '../internal/createEmitter.js'
import { stringifyJson } from '../internal/json.js'
import { silentLogger } from '../internal/logger.js'
import { createMetrics } from '../internal/metrics.js'
import { createShutdown } from '../internal/shutdown.js'
import { createSandbox } from '../runtime/createSandbox.js'
import { type FunctionBundle, loadFunction } from '../runtime/loadFunction.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { type RunJobServices, runJob } from './runJob.js'
import type { Common } from './types.js'

const dir = makeFunctionsDir()
const sandbox = createSandbox()
let anvil: AnvilNode
let chain: ChainConnection
beforeAll(async () => {
  anvil = await startAnvil()
  chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
})
afterAll(async () => {
  sandbox.dispose()
  dir.remove()
  await chain?.close()
  await anvil?.stop()
})

const blocks = "trigger: { type: 'blocks', every: 1 }"

/** runJob's services over a fresh SQLite store, with the given functions loaded in the sandbox. */
async function setup(sources: Record<string, string>, kvValueBytes = 64 * 1024) {
  const functions = new Map<string, FunctionBundle>()
  for (const [name, body] of Object.entries(sources)) {
    const bundle = await loadFunction(dir.write(name, body))
    await sandbox.load(bundle)
    functions.set(name, bundle)
  }
  const store = createSqliteStore({ path: ':memory:' })
  const events = createEmitter<EngineEvents>()
  const common: Common = {
    options: {
      chainId: 31337,
      contracts: {},
      secrets: {},
      limits: { timeoutMs: 1000, memoryMb: 64, kvValueBytes, kvTotalBytes: 1024 * 1024 },
      retry: { maxAttempts: 8, backoffMs: 200, maxBackoffMs: 30_000, on: 'faults' },
    },
    logger: silentLogger,
    metrics: createMetrics(),
    shutdown: createShutdown(),
  }
  const services: RunJobServices = {
    common,
    store,
    sandbox,
    events,
    payment: null,
    functions,
    host: {
      chain,
      store,
      dispatcher: { dispatch: () => expect.fail('no device command is expected') },
      logger: silentLogger,
      relayer: null,
      deviceClass: null,
      operator: null,
      contracts: {},
      limits: common.options.limits,
      functions,
    },
  }
  const runs: EngineEvents['run'][] = []
  events.on('run', (r) => runs.push(r))
  return { services, store, runs, metrics: common.metrics }
}

let height = 0n
/** Commits one block with a ready job of `functionName`, as processBlock would, and returns the job. */
async function addJob(store: Store, functionName: string): Promise<Job> {
  height++
  const hash = `0x${height.toString(16).padStart(64, '0')}` as Hex
  const block = { number: height, hash, timestamp: 1_700_000_000n + height }
  const id = `31337:${hash}:blocks:${functionName}`
  await store.commitBlock(31337, {
    block: { ...block, parentHash: `0x${'00'.repeat(32)}` },
    jobs: [
      {
        id,
        functionName,
        entry: 'handler',
        input: stringifyJson({ block, chainId: 31337 }),
        blockNumber: height,
        blockHash: hash,
        readyAt: height,
      },
    ],
    timersSet: [],
    timersCleared: [],
    conditions: [],
  })
  return (await store.getJob(id)) as Job
}

describe('runJob', () => {
  it('runs the job in the sandbox, records an ok run with its logs, marks the job done and emits the run', async () => {
    const { services, store, runs, metrics } = await setup({
      count: `export default defineFunction({ ${blocks}, async handler(ctx) {
        await ctx.kv.set('seen', Number(ctx.block.number))
        ctx.log.info('block ' + ctx.block.number)
      } })`,
    })
    const job = await addJob(store, 'count')
    await runJob(services, job)
    expect(runs[0]?.run.error).toBeNull()
    expect((await store.getJob(job.id))?.status).toBe('done')
    expect(await store.kvGet('count', 'seen')).toBe(JSON.stringify(Number(job.blockNumber)))
    expect(runs).toHaveLength(1)
    expect(runs[0]?.run).toMatchObject({ jobId: job.id, status: 'ok', attempt: 1, error: null })
    expect(runs[0]?.run.logs.map((l) => l.message)).toEqual([`block ${job.blockNumber}`])
    expect(metrics.snapshot().counters).toMatchObject({ 'pbj_runs_total{function="count",status="ok"}': 1 })
    expect(metrics.snapshot().histograms['pbj_run_duration_seconds{function="count"}']?.count).toBe(1)
    // A job already done is not run again (a duplicate push after a restart).
    await runJob(services, job)
    expect(runs).toHaveLength(1)
    expect(await store.listRuns({ functionName: 'count' })).toHaveLength(1)
  })

  it("fails the job with the function's own error, and does not retry it under the default policy", async () => {
    const { services, store, runs } = await setup({
      boom: `export default defineFunction({ ${blocks}, handler() { throw new Error('no loan here') } })`,
    })
    const job = await addJob(store, 'boom')
    await runJob(services, job)
    const after = await store.getJob(job.id)
    expect(after?.status).toBe('failed')
    expect(after?.lastError).toContain('no loan here')
    expect(runs[0]?.run.status).toBe('failed')
  })

  it("retries a user error with backoff when the function's retry.on is 'all', and dead-letters it after maxAttempts", async () => {
    const { services, store, metrics } = await setup({
      flaky: `export default defineFunction({ ${blocks}, retry: { on: 'all', maxAttempts: 2, backoffMs: 1000 },
        handler() { throw new Error('try again') } })`,
    })
    const job = await addJob(store, 'flaky')
    const before = Date.now()
    await runJob(services, job)
    const first = await store.getJob(job.id)
    expect(first?.status).toBe('pending')
    // 1000 ms × (0.5 … 1.5) jitter on the first retry.
    expect(first?.runAfter).toBeGreaterThanOrEqual(before + 500)
    await runJob(services, first as Job)
    const second = await store.getJob(job.id)
    expect(second?.status).toBe('dead')
    expect(second?.attempts).toBe(2)
    // One retry, then one dead letter, both counted by function.
    expect(metrics.snapshot().counters).toMatchObject({
      'pbj_job_retries_total{function="flaky"}': 1,
      'pbj_dead_letters_total{function="flaky"}': 1,
      'pbj_runs_total{function="flaky",status="failed"}': 2,
    })
  })

  it('keeps a kv write over its limit as the KvLimitError it is, and stores nothing', async () => {
    const { services, store, runs } = await setup(
      {
        big: `export default defineFunction({ ${blocks}, async handler(ctx) { await ctx.kv.set('k', 'x'.repeat(100)) } })`,
      },
      32,
    )
    const job = await addJob(store, 'big')
    await runJob(services, job)
    expect(runs[0]?.run.error?.name).toBe('KvLimitError')
    expect((await store.getJob(job.id))?.status).toBe('failed')
    expect(await store.kvGet('big', 'k')).toBeNull()
  })

  it('fails a job whose function is not loaded, without a run', async () => {
    const { services, store, runs } = await setup({})
    const job = await addJob(store, 'gone')
    await runJob(services, job)
    const after = await store.getJob(job.id)
    expect(after?.status).toBe('failed')
    expect(after?.lastError).toBe("function 'gone' is not loaded")
    expect(runs).toEqual([])
  })
})
