import type { Address } from 'viem'
import type { DeviceDispatcherOptions } from '../actions/devices/createDeviceDispatcher.js'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import type { RelayerOptions } from '../actions/relayer/createRelayer.js'
import type { Health } from '../internal/health.js'
import type { Logger } from '../internal/logger.js'
import type { PaymentOptions } from '../payment/createPaymentMeter.js'
import type { FunctionBundle } from '../runtime/loadFunction.js'
import type { SandboxIsolation } from '../runtime/sandboxTypes.js'

/**
 * Everything the engine needs, already resolved (URLs of a running chain and broker). Its own file so that
 * createEngine and createEngineServices (which builds the services from it) both read it.
 *
 * @example
 * const options: EngineOptions = { rpcUrl, brokerUrl, database: ':memory:', functions }
 */
export type EngineOptions = {
  /** One RPC URL, or several in order of preference (a ws:// URL first gets heads pushed; the rest are fallbacks). */
  rpcUrl: string | readonly string[]
  brokerUrl: string
  broker?: {
    username?: string | undefined
    password?: string | undefined
    protocolVersion?: 4 | 5 | undefined
    topicPrefix?: string | undefined
  }
  /**
   * How devices behind their desired state are brought back (see createDeviceDispatcher): the backoff of
   * re-sending to a device that reports an older version, and the periodic reconciliation (default every
   * 30 s, for devices 10 s behind).
   */
  devices?: Pick<DeviceDispatcherOptions, 'correction' | 'reconcile'> | undefined
  /** SQLite file, or ':memory:'. */
  database: string
  functions: readonly FunctionBundle[]
  contracts?: Record<string, Address>
  /**
   * The engine's operator key (0x + 64 hex digits): it signs every device command (EIP-712, domain = chain
   * + `contracts.DeviceRegistry`), and cars apply only commands signed by an operator registered for them.
   * Without it (or without a DeviceRegistry) commands are stored but cannot be published.
   */
  operatorKey?: string | undefined
  /** How long a signed device command stays valid for the car, in wall-clock ms. Default 10 minutes. */
  commandValidityMs?: number | undefined
  secrets?: Record<string, string>
  limits?: {
    timeoutMs?: number | undefined
    memoryMb?: number | undefined
    concurrency?: number | undefined
    /** Largest `ctx.kv` value, UTF-8 bytes of its JSON; default 64 KiB. */
    kvValueBytes?: number | undefined
    /** Largest total of one function's kv keys and values; default 1 MiB. */
    kvTotalBytes?: number | undefined
  }
  chain?: {
    pollingIntervalMs?: number | undefined
    startBlock?: 'latest' | number | undefined
    /** Deepest reorg rolled back to a common block (default 250); a deeper one resumes (see followHeads). */
    maxReorgDepth?: number | undefined
  }
  /**
   * Chain-level reconciliation of every device (createChainReconciler): how often a periodic pass runs, in
   * ms (default 60 000; 0 never). Passes also run after start-up, outages and reorgs.
   */
  reconcile?: { intervalMs?: number | undefined } | undefined
  /**
   * `isolation: 'thread'` (default) runs isolates in this process; `'process'` runs them in a child process
   * that is restarted when it crashes (its runs in flight are retried), at ~0.3 ms more per run.
   */
  sandbox?: { isolation?: SandboxIsolation | undefined }
  /** Default retry policy for every function (each may set its own `retry`). */
  retry?: { maxAttempts?: number; backoffMs?: number; maxBackoffMs?: number }
  logger?: Logger
  /**
   * Gives up a start-up that is waiting (for a node that does not answer, or for space on a full disk):
   * createEngine then rejects with what it was waiting for. A SIGTERM during start-up aborts it.
   */
  signal?: AbortSignal | undefined
  /** How often due retries are looked for in the store (ms). */
  retrySweepMs?: number
  /**
   * Tuning of the relayer that sends `ctx.chain.write` transactions from `operatorKey` (there is none
   * without an operator key): blocks before a stuck transaction is replaced, reorg watch depth, fee cap.
   */
  relayer?: Pick<
    RelayerOptions,
    | 'stuckBlocks'
    | 'finalityDepth'
    | 'pollingIntervalMs'
    | 'rebroadcastMs'
    | 'maxFeePerGas'
    | 'baseFeeMultiplier'
  >
  /**
   * The device class that turns device calls into desired states and whose guard every device command
   * passes at the newest block (see guardCommand), e.g. `immobilizerClass({ contract: 'CarLoan' })`. None
   * (null or absent): every device command is refused, naming the fix. A config's default is chosen by
   * config/resolveDeviceClass.ts.
   */
  deviceClass?: DeviceClass | null | undefined
  /**
   * Prepaid execution: runs are metered and settled on `contract` (ExecutionBalance) for `projectId`, and
   * held while its balance cannot pay one. Needs `operatorKey` (the contract's operator). Off when absent.
   */
  payment?: (PaymentOptions & { pollMs?: number | undefined }) | undefined
  /**
   * The engine's readiness checks. Pass one to serve it before the engine exists: pbj start's health server
   * answers while the engine waits for its node or for space on a full disk. Default: the engine makes its
   * own. Either way `engine.health`.
   */
  health?: Health | undefined
  /** Further behind the node's head than this many blocks, the `lag` check fails (default 5). */
  readyLagBlocks?: number | undefined
}
