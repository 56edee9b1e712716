import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

/**
 * Runs `work` under a CPU profile of this process's main thread when `PBJ_BENCH_PROFILE` names a folder, and
 * writes it there as `<name>.cpuprofile` (open it in Chrome's DevTools or speedscope). A whole run's
 * `--cpu-prof` mixes the set-up (a thousand loans opened, keys derived) into the window that is measured; this
 * profiles only the window. Without the variable `work` runs as is. With `PBJ_BENCH_HEAP` set too, the window's
 * allocations are sampled as well (every 4 KiB, collected objects included: what the garbage collector has to
 * clear, not only what is left) and written as `<name>.heapprofile`, which says which code makes the garbage.
 *
 * @example
 * const lock = await profileWindow('fleet-lock-1', () => miner.mineAndAwait(ids, lockMove, lockAt))
 */
export async function profileWindow<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.PBJ_BENCH_PROFILE
  if (!dir) return work()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  if (process.env.PBJ_BENCH_HEAP)
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
  try {
    return await work()
  } finally {
    if (process.env.PBJ_BENCH_HEAP) {
      const { profile: heap } = await session.post('HeapProfiler.stopSampling')
      writeFileSync(join(dir, `${name}.heapprofile`), JSON.stringify(heap))
    }
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
}
