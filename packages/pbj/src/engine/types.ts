import type { Address } from 'viem'
import type { CommandServices } from '../actions/devices/commandDevice.js'
import type { ChainWriteServices } from '../actions/relayer/chainWrite.js'
import type { CapabilityServices } from '../capabilities/checkCapability.js'
import type { ReadMemory } from '../chain/createReadMemory.js'
import type { ChainConnection } from '../chain/types.js'
import type { Store } from '../core/store.js'
import type { Logger } from '../internal/logger.js'
import type { Metrics } from '../internal/metrics.js'
import type { Shutdown } from '../internal/shutdown.js'
import type { FunctionBundle } from '../runtime/loadFunction.js'
import type { TriggerIndex } from '../triggers/createTriggerIndex.js'
import type { KvServices } from './setKv.js'

/** The engine's plain settings, resolved once from EngineOptions (defaults filled in). */
export type EngineSettings = {
  chainId: number
  /** Contract names known to functions, from the config (and the demo's deployment). */
  contracts: Readonly<Record<string, Address>>
  /** Every secret of the config; a run gets only those its function's capabilities name. */
  secrets: Readonly<Record<string, string>>
  /** Sandbox limits, and `ctx.kv`'s size limits in UTF-8 bytes of JSON (see setKv). */
  limits: { timeoutMs: number; memoryMb: number; kvValueBytes: number; kvTotalBytes: number }
  /** Default retry policy; a function's own `retry` overrides it field by field. */
  retry: { maxAttempts: number; backoffMs: number; maxBackoffMs: number; on: 'faults' | 'all' }
}

/**
 * What every part of one engine may know (Ponder's `common`): its settings, where it logs, what it counts,
 * and how it stops. Services (store, queue, chain, sandbox…) are not here: each stage takes the ones it
 * uses as explicit parameters, and createEngine wires them.
 */
export type Common = {
  options: EngineSettings
  logger: Logger
  metrics: Metrics
  shutdown: Shutdown
}

/**
 * The functions loaded now and their trigger index. Hot reload replaces both at once, so a stage reads them
 * where it needs them (never keeps a copy) and never sees the functions of one load with the index of another.
 */
export type LoadedFunctions = {
  functions: ReadonlyMap<string, FunctionBundle>
  index: TriggerIndex
}

/**
 * What the host side of `ctx` uses (createHostApi): the services of every check and action a call can reach,
 * and the chain and store it reads directly.
 */
export type HostServices = CapabilityServices &
  CommandServices &
  ChainWriteServices &
  KvServices & {
    chain: Pick<ChainConnection, 'readContract'>
    store: Pick<Store, 'getDevice' | 'kvGet' | 'kvDelete'>
    functions: ReadonlyMap<string, FunctionBundle>
    /** Where the run's reads are remembered for the next run of its key (createReadMemory); none: no prefetch. */
    readMemory?: ReadMemory | undefined
    /**
     * The `ctx.chain.read` calls each run key made at its block, for createHostApi to answer before the next
     * run of that key and hand the answers in with it; none: every read crosses.
     */
    callMemory?: ReadMemory<RecordedCall> | undefined
  }

/** A `ctx.chain.read` as the function made it: the answerKeyOf key of its arguments (argsOfAnswerKey). */
export type RecordedCall = { key: string }
