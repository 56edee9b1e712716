import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { processBlock } from '#pbj/engine/processBlock.js'
import { runJob } from '#pbj/engine/runJob.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { createRunsServices } from './createRunsServices.js'
import { pingContract, pingSource } from './measureRuns.js'
import { syntheticBlock } from './syntheticBlock.js'

/**
 * The engine path of the runs section (processBlock's durable jobs → queue → runJob), block after block, for
 * A/B comparisons on a busy machine: one block's CPU figure moves with whatever else runs, the median of
 * several moves less. With `--prof <file>`, the last block's drain (only it: no start-up, no planning) is
 * written as a CPU profile (open it in Chrome DevTools, or sum its self times); with `--heap <file>`, as a
 * sampling heap profile of everything the main thread allocated in it, collected or not (.heapprofile).
 *
 * @example
 * node --no-node-snapshot --import tsx bench/runs/profileRuns.ts --blocks 6 --prof /tmp/drain.cpuprofile
 */
async function profileRuns(options: {
  blocks: number
  jobs: number
  profile: string | undefined
  heap: string | undefined
}) {
  const dir = mkdtempSync(join(tmpdir(), 'pbj-profile-runs-'))
  const session = new Session()
  try {
    const file = join(dir, 'ping.ts')
    writeFileSync(file, pingSource)
    const bundle = await loadFunction(file)
    const services = await createRunsServices({
      database: join(dir, 'pbj.db'),
      functions: [bundle],
      isolation: 'thread',
    })
    services.queue.start((job) => runJob(services, job))
    session.connect()
    const perRun: number[] = []
    try {
      for (let b = 1; b <= options.blocks; b++) {
        const { header, logs } = syntheticBlock({
          number: BigInt(b),
          address: pingContract,
          count: options.jobs,
        })
        await processBlock(services, header, Date.now(), { addresses: services.index.addresses, logs })
        const profiled = options.profile !== undefined && b === options.blocks
        const sampled = options.heap !== undefined && b === options.blocks
        if (profiled) {
          await session.post('Profiler.enable')
          await session.post('Profiler.start')
        }
        // Every 1 KiB allocated on this thread, kept or not: what the drain allocates per run, by site.
        if (sampled)
          await session.post('HeapProfiler.startSampling', {
            samplingInterval: 1024,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          })
        const started = performance.now()
        const cpu = process.cpuUsage()
        await services.queue.idle()
        const used = process.cpuUsage(cpu)
        const ms = performance.now() - started
        if (profiled && options.profile) {
          const { profile } = await session.post('Profiler.stop')
          writeFileSync(options.profile, JSON.stringify(profile))
        }
        if (sampled && options.heap) {
          const { profile } = await session.post('HeapProfiler.stopSampling')
          writeFileSync(options.heap, JSON.stringify(profile))
        }
        const us = (used.user + used.system) / options.jobs
        // The first block warms the isolate and the statements up.
        if (b > 1) perRun.push(us)
        console.error(`block ${b}: ${options.jobs} runs in ${Math.round(ms)} ms, ${us.toFixed(1)} µs CPU/run`)
      }
    } finally {
      await services.queue.close()
      services.sandbox.dispose()
      await services.store.close()
    }
    perRun.sort((x, y) => x - y)
    const median = perRun[Math.floor(perRun.length / 2)] ?? Number.NaN
    console.error(
      `median ${median.toFixed(1)} µs CPU/run, least ${perRun[0]?.toFixed(1)} (blocks 2–${options.blocks})`,
    )
  } finally {
    session.disconnect()
    rmSync(dir, { recursive: true, force: true })
  }
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}
await profileRuns({
  blocks: Number(arg('--blocks') ?? 6),
  jobs: Number(arg('--jobs') ?? 5_000),
  profile: arg('--prof'),
  heap: arg('--heap'),
})
