import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { processBlock } from '#pbj/engine/processBlock.js'
import { runJob } from '#pbj/engine/runJob.js'
import { createSandbox } from '#pbj/runtime/createSandbox.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import type { HostApi, RunInput, SandboxIsolation } from '#pbj/runtime/sandboxTypes.js'
import { log as stderrLog } from '../lib/stats.js'
import { createRunsServices } from './createRunsServices.js'
import { syntheticBlock } from './syntheticBlock.js'

/** The contract the benchmark's function watches (no chain behind it: its logs are synthesized). */
export const pingContract = '0x00000000000000000000000000000000000b3e7c'

/** A trivial but real event function: reads the decoded event args and returns a value computed from them. */
export const pingSource = `import { defineFunction } from 'pbj'
const abi = [{ type: 'event', name: 'Ping', anonymous: false, inputs: [
  { name: 'id', type: 'uint256', indexed: true }, { name: 'amount', type: 'uint256', indexed: false } ] }] as const
export default defineFunction({
  trigger: { type: 'event', contract: '${pingContract}', abi, event: 'Ping' },
  handler(ctx) { return ctx.event.args.id + ctx.event.args.amount },
})
`

/** What the throughput section reports. */
export type RunsMeasurement = {
  /**
   * Runs per second from durable jobs to runs recorded done: the block's jobs committed by processBlock,
   * then queue → runJob (job read, run started, sandbox, run finished, job done) for every one.
   */
  runsPerSec: number
  /** Warm runs per second of the sandbox alone (trivial handler, `inFlight` runs outstanding). */
  sandboxRunsPerSec: number
  details: {
    isolation: SandboxIsolation
    /** Jobs (= event logs) of the timed block, after a warm-up block of `warmupJobs`. */
    jobs: number
    warmupJobs: number
    /** processBlock: decode logs, plan, commit jobs + cursor in one transaction, queue them. */
    planMs: number
    /** From the jobs queued to the last run recorded done (queue drain). */
    drainMs: number
    /** planMs + drainMs. */
    totalMs: number
    /** jobs / totalMs: from the block's logs to every run done, the trigger stage included. */
    blockToDoneRunsPerSec: number
    /**
     * CPU time of the whole process (all threads, isolates included) during the drain, and per run: less
     * sensitive than wall time to other work on the machine.
     */
    drainCpuMs: number
    drainCpuUsPerRun: number
    runsOk: number
    runsFailed: number
    jobsDone: number
    /** Jobs the queue runs at once: the engine's default (`limits.concurrency`). */
    queueConcurrency: number
    /** The sandbox alone: `runs` in `ms` with `inFlight` outstanding; then runs one at a time. */
    sandbox: { runs: number; ms: number; cpuUsPerRun: number; inFlight: number; sequentialRunsPerSec: number }
    /** The machine is shared with other work; figures are noisy. */
    cpus: number
    node: string
  }
}

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000)

/**
 * Measures warm function-run throughput, through the engine's own path and for the sandbox alone. The
 * engine path: a block whose N logs each trigger one event function goes through the real `processBlock`
 * (its logs handed over as catch-up hands them, so no RPC), which commits N jobs to a SQLite file (WAL)
 * and queues them on the memory queue; `runJob` drains them into a warm isolate, and each run is recorded
 * and its job marked done. `runsPerSec` counts from the jobs committed to the last job done; the trigger
 * stage before it is reported apart (`planMs`, `blockToDoneRunsPerSec`). A warm-up block runs first.
 * Wall-clock figures move with whatever else the machine runs; the CPU figures per run move less.
 *
 * @example
 * const { runsPerSec, sandboxRunsPerSec } = await measureRuns({ quick: true, log: console.error })
 */
export async function measureRuns(options: {
  quick: boolean
  log: (line: string) => void
  isolation?: SandboxIsolation
}): Promise<RunsMeasurement> {
  const { log } = options
  const isolation = options.isolation ?? 'thread'
  const jobs = options.quick ? 5_000 : 50_000
  const warmupJobs = options.quick ? 1_000 : 5_000
  const sandboxRuns = options.quick ? 5_000 : 100_000
  // The engine default (createEngine: limits.concurrency).
  const queueConcurrency = 1024
  const dir = mkdtempSync(join(tmpdir(), 'pbj-bench-runs-'))
  try {
    const file = join(dir, 'ping.ts')
    writeFileSync(file, pingSource)
    const bundle = await loadFunction(file)

    // Sandbox alone: the same function, a constant input, no store and no queue.
    const sandbox = await measureSandbox(bundle, sandboxRuns, queueConcurrency)
    log(
      `runs: sandbox alone ${sandbox.runsPerSec} runs/s (${sandbox.inFlight} in flight), ` +
        `${sandbox.sequentialRunsPerSec} runs/s one at a time`,
    )

    const services = await createRunsServices({
      database: join(dir, 'pbj.db'),
      functions: [bundle],
      isolation,
      concurrency: queueConcurrency,
    })
    let runsOk = 0
    let runsFailed = 0
    services.events.on('run', ({ run }) => (run.status === 'ok' ? runsOk++ : runsFailed++))
    services.queue.start((job) => runJob(services, job))
    const runBlock = async (number: bigint, count: number) => {
      const { header, logs } = syntheticBlock({ number, address: pingContract, count })
      const started = performance.now()
      await processBlock(services, header, Date.now(), { addresses: services.index.addresses, logs })
      const planned = performance.now()
      const cpu = process.cpuUsage()
      await services.queue.idle()
      const drained = performance.now()
      const used = process.cpuUsage(cpu)
      return {
        planMs: planned - started,
        drainMs: drained - planned,
        drainCpuMs: (used.user + used.system) / 1000,
      }
    }
    try {
      await runBlock(1n, warmupJobs)
      log(`runs: warm-up block of ${warmupJobs} jobs done (${runsOk} ok, ${runsFailed} failed)`)
      runsOk = 0
      runsFailed = 0
      const { planMs, drainMs, drainCpuMs } = await runBlock(2n, jobs)
      const done = await services.store.listJobs({ status: ['done'], limit: jobs + warmupJobs + 1 })
      const totalMs = planMs + drainMs
      const result: RunsMeasurement = {
        runsPerSec: rate(jobs, drainMs),
        sandboxRunsPerSec: sandbox.runsPerSec,
        details: {
          isolation,
          jobs,
          warmupJobs,
          planMs: Math.round(planMs),
          drainMs: Math.round(drainMs),
          totalMs: Math.round(totalMs),
          blockToDoneRunsPerSec: rate(jobs, totalMs),
          drainCpuMs: Math.round(drainCpuMs),
          drainCpuUsPerRun: Math.round((drainCpuMs / jobs) * 1000 * 10) / 10,
          runsOk,
          runsFailed,
          jobsDone: done.filter((j) => j.blockNumber === 2n).length,
          queueConcurrency,
          sandbox: {
            runs: sandboxRuns,
            ms: Math.round(sandbox.ms),
            cpuUsPerRun: sandbox.cpuUsPerRun,
            inFlight: sandbox.inFlight,
            sequentialRunsPerSec: sandbox.sequentialRunsPerSec,
          },
          cpus: availableParallelism(),
          node: process.version,
        },
      }
      log(
        `runs: ${jobs} durable jobs → runs done in ${Math.round(drainMs)} ms: ${result.runsPerSec} runs/s ` +
          `(${result.details.drainCpuUsPerRun} µs CPU/run); with the trigger stage (plan ${Math.round(planMs)} ms) ` +
          `${result.details.blockToDoneRunsPerSec} runs/s; ${runsOk} ok, ${runsFailed} failed`,
      )
      if (runsOk !== jobs || result.details.jobsDone !== jobs)
        throw new Error(
          `expected ${jobs} ok runs and done jobs, got ${runsOk} and ${result.details.jobsDone}`,
        )
      return result
    } finally {
      await services.queue.close()
      services.sandbox.dispose()
      await services.store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Warm runs of the sandbox alone: `inFlight` outstanding at a time (as the queue keeps), then one at a time. */
async function measureSandbox(
  bundle: Awaited<ReturnType<typeof loadFunction>>,
  runs: number,
  inFlight: number,
) {
  const sandbox = createSandbox({ memoryMb: 64, timeoutMs: 5_000 })
  const host: HostApi = async () => null
  const input: RunInput = {
    block: { number: 2n, hash: `0x${'ab'.repeat(32)}`, timestamp: 1_700_000_002n },
    chainId: 31337,
    run: { id: 'run', jobId: 'job', attempt: 1, functionName: bundle.name },
    secrets: {},
    event: {
      name: 'Ping',
      args: { id: 7n, amount: 7_000n },
      address: pingContract,
      logIndex: 7,
      transactionHash: `0x${'cd'.repeat(32)}`,
    },
  }
  const pool = async (count: number) => {
    let next = 0
    const lane = async () => {
      while (next++ < count) {
        const result = await sandbox.run(bundle.name, input, host)
        if (!result.ok) throw result.error
      }
    }
    await Promise.all(Array.from({ length: inFlight }, lane))
  }
  try {
    await sandbox.load(bundle)
    await pool(Math.min(2_000, runs / 5))
    const cpu = process.cpuUsage()
    const started = performance.now()
    await pool(runs)
    const ms = performance.now() - started
    const used = process.cpuUsage(cpu)
    const sequential = Math.min(runs, 2_000)
    const seqStarted = performance.now()
    for (let i = 0; i < sequential; i++) await sandbox.run(bundle.name, input, host)
    const seqMs = performance.now() - seqStarted
    return {
      runsPerSec: rate(runs, ms),
      ms,
      cpuUsPerRun: Math.round(((used.user + used.system) / runs) * 10) / 10,
      inFlight,
      sequentialRunsPerSec: rate(sequential, seqMs),
    }
  } finally {
    sandbox.dispose()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick')
  // --process: the end-to-end figure with `limits.isolation: 'process'` (the sandbox-alone one stays in-process).
  const isolation = process.argv.includes('--process') ? 'process' : 'thread'
  const result = await measureRuns({ quick, log: stderrLog, isolation })
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
