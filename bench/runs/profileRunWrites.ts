import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Job } from '#pbj/core/job.js'
import type { Run } from '#pbj/core/run.js'
import { processBlock } from '#pbj/engine/processBlock.js'
import { timeOrderedUuid } from '#pbj/internal/timeOrderedUuid.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { createRunsServices } from './createRunsServices.js'
import { pingContract, pingSource } from './measureRuns.js'
import { syntheticBlock } from './syntheticBlock.js'

/**
 * The store's share of the runs section alone, on one thread: the writes runJob makes for each run of a block
 * (`--started`: its start written before its first ctx call, then its end; else start and end in one write, as
 * for a run that makes no ctx call), `inFlight` runs at a time as the queue keeps them, without the sandbox.
 * CPU per run of these writes is what a change to the store's run path moves; the whole path's figure
 * (profileRuns) moves with the isolate's thread and the machine's load too.
 *
 * @example
 * node --no-node-snapshot --import tsx bench/runs/profileRunWrites.ts --blocks 8
 */
async function profileRunWrites(options: {
  blocks: number
  jobs: number
  inFlight: number
  started: boolean
}) {
  const dir = mkdtempSync(join(tmpdir(), 'pbj-profile-writes-'))
  try {
    const file = join(dir, 'ping.ts')
    writeFileSync(file, pingSource)
    const bundle = await loadFunction(file)
    const services = await createRunsServices({
      database: join(dir, 'pbj.db'),
      functions: [bundle],
      isolation: 'thread',
    })
    const { store } = services
    const jobs: Job[] = []
    services.queue.start(async (job) => void jobs.push(job))
    const perRun: number[] = []
    const kbs: number[] = []
    // As runJob writes a run that makes ctx calls (`started`: its start before the first call, then its end)
    // or none (its start and end in one write).
    const one = async (job: Job) => {
      const startedAt = Date.now()
      const runId = timeOrderedUuid()
      const attempt = options.started ? await store.startRun(job, runId, startedAt) : job.attempts + 1
      if (attempt === null) throw new Error(`job ${job.id} did not start`)
      const endedAt = Date.now()
      const run: Run = {
        id: runId,
        jobId: job.id,
        functionName: job.functionName,
        attempt,
        status: 'ok',
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
        logs: [],
        error: null,
      }
      if (!(await store.finishRun(run, { status: 'done' }, options.started)))
        throw new Error(`run of ${job.id} not recorded`)
    }
    try {
      for (let b = 1; b <= options.blocks; b++) {
        const { header, logs } = syntheticBlock({
          number: BigInt(b),
          address: pingContract,
          count: options.jobs,
        })
        jobs.length = 0
        await processBlock(services, header, Date.now(), { addresses: services.index.addresses, logs })
        await services.queue.idle()
        const io = ioCounters()
        const cpu = process.cpuUsage()
        let next = 0
        const lane = async () => {
          while (next < jobs.length) await one(jobs[next++] as Job)
        }
        await Promise.all(Array.from({ length: options.inFlight }, lane))
        const used = process.cpuUsage(cpu)
        const us = (used.user + used.system) / jobs.length
        const after = ioCounters()
        const kb = (after.wchar - io.wchar) / 1024 / jobs.length
        const calls = (after.syscw - io.syscw + after.syscr - io.syscr) / jobs.length
        if (b > 1) perRun.push(us)
        console.error(
          `block ${b}: ${jobs.length} runs' writes, ${us.toFixed(1)} µs CPU/run, ${kb.toFixed(2)} KiB written and ${calls.toFixed(2)} read/write calls per run`,
        )
        kbs.push(kb)
      }
    } finally {
      await services.queue.close()
      services.sandbox.dispose()
      await services.store.close()
    }
    perRun.sort((x, y) => x - y)
    const median = perRun[Math.floor(perRun.length / 2)] ?? Number.NaN
    console.error(
      `median ${median.toFixed(1)} µs CPU/run, least ${perRun[0]?.toFixed(1)} (blocks 2–${options.blocks}); ${kbs.at(-1)?.toFixed(2)} KiB written per run (last block)`,
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Bytes and calls of this process's reads and writes so far (Linux: /proc/self/io). */
function ioCounters() {
  const text = readFileSync('/proc/self/io', 'utf8')
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? 0)
  return { wchar: field('wchar'), syscw: field('syscw'), syscr: field('syscr') }
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}
await profileRunWrites({
  blocks: Number(arg('--blocks') ?? 8),
  jobs: Number(arg('--jobs') ?? 5_000),
  inFlight: Number(arg('--in-flight') ?? 1_024),
  started: process.argv.includes('--started'),
})
