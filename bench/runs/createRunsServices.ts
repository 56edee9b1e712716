import { dirname } from 'node:path'
import type { Address } from 'viem'
import type { ChainConnection } from '#pbj/chain/types.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import type { Store } from '#pbj/core/store.js'
import type { BlockServices } from '#pbj/engine/processBlock.js'
import type { RunJobServices } from '#pbj/engine/runJob.js'
import { defaultKvLimits } from '#pbj/engine/setKv.js'
import type { Common, HostServices } from '#pbj/engine/types.js'
import { createEmitter, type Emitter } from '#pbj/internal/createEmitter.js'
import { createHealth } from '#pbj/internal/health.js'
import { silentLogger } from '#pbj/internal/logger.js'
import { createMetrics } from '#pbj/internal/metrics.js'
import { createShutdown } from '#pbj/internal/shutdown.js'
import { createMemoryQueue } from '#pbj/queue/createMemoryQueue.js'
import type { Queue } from '#pbj/queue/types.js'
import { createProcessSandbox } from '#pbj/runtime/createProcessSandbox.js'
import { createSandbox, type Sandbox } from '#pbj/runtime/createSandbox.js'
import type { FunctionBundle } from '#pbj/runtime/loadFunction.js'
import type { SandboxIsolation } from '#pbj/runtime/sandboxTypes.js'
import { createDiskFullWatch } from '#pbj/store/createDiskFullWatch.js'
import { guardStore } from '#pbj/store/guardStore.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { createTriggerIndex } from '#pbj/triggers/createTriggerIndex.js'

/** The services runJob and processBlock take, and the parts the benchmark drives and closes itself. */
export type RunsServices = RunJobServices &
  BlockServices & { store: Store; queue: Queue; sandbox: Sandbox; events: Emitter<EngineEvents> }

const unused = (what: string) => () => {
  throw new Error(`the runs benchmark does not use ${what}`)
}

/**
 * The services of runJob and processBlock as `createEngine` wires them (SQLite file store behind the disk-full
 * guard, memory queue, sandbox,
 * trigger index, default limits and retry policy), minus the network: the chain and the broker are stubs
 * that throw, because the runs benchmark hands processBlock its logs (as catch-up does) and its function
 * makes no device or chain calls.
 *
 * @example
 * const services = await createRunsServices({ database: '/tmp/pbj-bench/pbj.db', functions: [bundle] })
 */
export async function createRunsServices(options: {
  database: string
  functions: readonly FunctionBundle[]
  isolation: SandboxIsolation
  concurrency?: number | undefined
}): Promise<RunsServices> {
  const limits = { timeoutMs: 5_000, memoryMb: 64 }
  const sandbox = options.isolation === 'process' ? createProcessSandbox(limits) : createSandbox(limits)
  for (const f of options.functions) await sandbox.load(f)
  const contracts: Record<string, Address> = {}
  const common: Common = {
    options: {
      chainId: 31337,
      contracts,
      secrets: {},
      limits: {
        ...limits,
        kvValueBytes: defaultKvLimits.valueBytes,
        kvTotalBytes: defaultKvLimits.totalBytes,
      },
      retry: { maxAttempts: 8, backoffMs: 200, maxBackoffMs: 30_000, on: 'faults' },
    },
    logger: silentLogger,
    metrics: createMetrics(),
    shutdown: createShutdown(),
  }
  const chain = {
    chainId: 31337,
    rpcUrl: 'stub://bench',
    getLogs: unused('chain.getLogs'),
    getFinalizedNumber: async () => null,
  } as unknown as ChainConnection
  // As the engine opens it: the one-engine lock, and every call through the disk-full guard.
  const diskFull = createDiskFullWatch({
    dir: dirname(options.database),
    health: createHealth(),
    logger: silentLogger,
  })
  const store = guardStore(createSqliteStore({ path: options.database, engine: true }), diskFull)
  const events = createEmitter<EngineEvents>()
  const functions = new Map(options.functions.map((f) => [f.name, f]))
  const host: HostServices = {
    chain,
    store,
    dispatcher: { dispatch: unused('dispatcher.dispatch') },
    logger: silentLogger,
    relayer: null,
    deviceClass: null,
    operator: null,
    contracts,
    limits: common.options.limits,
    functions,
  }
  return {
    common,
    chain,
    store,
    queue: createMemoryQueue({ concurrency: options.concurrency ?? 1024 }),
    sandbox,
    events,
    payment: null,
    host,
    functions,
    index: createTriggerIndex(options.functions, contracts),
  }
}
