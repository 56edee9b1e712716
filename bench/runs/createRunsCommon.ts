import type { Address } from 'viem'
import { defaultKvLimits } from '#pbj/engine/setKv.js'
import type { Common } from '#pbj/engine/types.js'
import { createEmitter } from '#pbj/internal/createEmitter.js'
import { silentLogger } from '#pbj/internal/logger.js'
import { createMemoryQueue } from '#pbj/queue/createMemoryQueue.js'
import { createProcessSandbox } from '#pbj/runtime/createProcessSandbox.js'
import { createSandbox } from '#pbj/runtime/createSandbox.js'
import type { FunctionBundle } from '#pbj/runtime/loadFunction.js'
import type { SandboxIsolation } from '#pbj/runtime/sandboxTypes.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { createTriggerIndex } from '#pbj/triggers/createTriggerIndex.js'

const unused = (what: string) => () => {
  throw new Error(`the runs benchmark does not use ${what}`)
}

/**
 * The engine's shared services as `createEngine` wires them (SQLite file store, memory queue, sandbox,
 * trigger index, default limits and retry policy), minus the network: the chain and the broker are stubs
 * that throw, because the runs benchmark hands processBlock its logs (as catch-up does) and its function
 * makes no device or chain calls.
 *
 * @example
 * const common = await createRunsCommon({ database: '/tmp/pbj-bench/pbj.db', functions: [bundle] })
 */
export async function createRunsCommon(options: {
  database: string
  functions: readonly FunctionBundle[]
  isolation: SandboxIsolation
  concurrency?: number | undefined
}): Promise<Common> {
  const limits = { timeoutMs: 5_000, memoryMb: 64 }
  const sandbox = options.isolation === 'process' ? createProcessSandbox(limits) : createSandbox(limits)
  for (const f of options.functions) await sandbox.load(f)
  const contracts: Record<string, Address> = {}
  return {
    chainId: 31337,
    chain: {
      chainId: 31337,
      rpcUrl: 'stub://bench',
      getLogs: unused('chain.getLogs'),
      getFinalizedNumber: async () => null,
    } as unknown as Common['chain'],
    store: createSqliteStore({ path: options.database }),
    queue: createMemoryQueue({ concurrency: options.concurrency ?? 1024 }),
    broker: {} as Common['broker'],
    dispatcher: {} as Common['dispatcher'],
    sandbox,
    logger: silentLogger,
    events: createEmitter(),
    contracts,
    secrets: {},
    functions: new Map(options.functions.map((f) => [f.name, f])),
    index: createTriggerIndex(options.functions, contracts),
    limits: { ...limits, kvValueBytes: defaultKvLimits.valueBytes, kvTotalBytes: defaultKvLimits.totalBytes },
    retry: { maxAttempts: 8, backoffMs: 200, maxBackoffMs: 30_000, on: 'faults' },
    deviceClass: null,
    operator: null,
    relayer: null,
    payment: null,
  }
}
