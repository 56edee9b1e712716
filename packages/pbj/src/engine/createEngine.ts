import { pbjDomain } from '@pbj/device'
import type { Address, Hex } from 'viem'
import { createMqttBroker } from '../actions/broker/createMqttBroker.js'
import { createBlockTimes } from '../actions/devices/createBlockTimes.js'
import {
  createDeviceDispatcher,
  type DeviceDispatcherOptions,
} from '../actions/devices/createDeviceDispatcher.js'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { resolveCommandSigner } from '../actions/devices/resolveCommandSigner.js'
import { createRelayer, type Relayer, type RelayerOptions } from '../actions/relayer/createRelayer.js'
import { checkGrantsAgainstConfig } from '../capabilities/checkGrantsAgainstConfig.js'
import { createChainConnection } from '../chain/createChainConnection.js'
import { followHeads } from '../chain/followHeads.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Store } from '../core/store.js'
import { createEmitter, type Emitter } from '../internal/createEmitter.js'
import { MissingConfigError } from '../internal/errors.js'
import { type Logger, silentLogger } from '../internal/logger.js'
import { createMetrics } from '../internal/metrics.js'
import { createShutdown } from '../internal/shutdown.js'
import { createPaymentMeter, type PaymentMeter, type PaymentOptions } from '../payment/createPaymentMeter.js'
import { createMemoryQueue } from '../queue/createMemoryQueue.js'
import { createProcessSandbox } from '../runtime/createProcessSandbox.js'
import { createSandbox } from '../runtime/createSandbox.js'
import type { FunctionBundle } from '../runtime/loadFunction.js'
import type { SandboxIsolation } from '../runtime/sandboxTypes.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { createTriggerIndex } from '../triggers/createTriggerIndex.js'
import { handleReorg, type ReorgServices } from './handleReorg.js'
import { type BlockServices, processBlock } from './processBlock.js'
import { type RunJobServices, runJob } from './runJob.js'
import { defaultKvLimits } from './setKv.js'
import type { Common, HostServices, LoadedFunctions } from './types.js'

/** Everything the engine needs, already resolved (URLs of a running chain and broker). */
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
  chain?: { pollingIntervalMs?: number | undefined; startBlock?: 'latest' | number | undefined }
  /**
   * `isolation: 'thread'` (default) runs isolates in this process; `'process'` runs them in a child process
   * that is restarted when it crashes (its runs in flight are retried), at ~0.3 ms more per run.
   */
  sandbox?: { isolation?: SandboxIsolation | undefined }
  /** Default retry policy for every function (each may set its own `retry`). */
  retry?: { maxAttempts?: number; backoffMs?: number; maxBackoffMs?: number }
  logger?: Logger
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
}

/** A running engine. */
export type Engine = {
  chainId: number
  events: Emitter<EngineEvents>
  store: Store
  /** Starts following the chain (and re-queues jobs a crash left unfinished). */
  start(): Promise<void>
  /** Replaces the loaded functions (hot reload); the trigger index is rebuilt. */
  setFunctions(functions: readonly FunctionBundle[]): Promise<void>
  functionNames(): string[]
  /** The relayer of `ctx.chain.write` transactions; null without an operator key. */
  relayer: Relayer | null
  /** The prepaid-execution meter; null without `payment`. */
  payment: PaymentMeter | null
  /**
   * Resolves when no job is queued or running and no device publish is queued or in flight (devices
   * waiting for the broker to come back do not count).
   */
  idle(): Promise<void>
  stop(): Promise<void>
}

/**
 * Creates the pipeline chain → triggers → store → queue → runtime → actions on the given chain and broker.
 *
 * @example
 * const engine = await createEngine({ rpcUrl, brokerUrl, database: ':memory:', functions })
 * engine.events.on('run', ({ run }) => console.log(run.functionName, run.status))
 * await engine.start()
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const logger = options.logger ?? silentLogger
  if (options.payment && !options.operatorKey)
    throw new MissingConfigError({
      field: 'operatorKey',
      message: 'payment needs operatorKey: the engine settles usage as the contract’s operator',
      hint: 'Set operatorKey to the key of ExecutionBalance’s operator (0x + 64 hex digits), or remove payment.',
    })
  // Before connecting anything: a class naming an unknown contract is a config error, not a leak.
  const deviceClass = options.deviceClass ?? null
  deviceClass?.check?.(options.contracts ?? {})
  const limits = { timeoutMs: options.limits?.timeoutMs ?? 5_000, memoryMb: options.limits?.memoryMb ?? 64 }
  const kvLimits = {
    kvValueBytes: options.limits?.kvValueBytes ?? defaultKvLimits.valueBytes,
    kvTotalBytes: options.limits?.kvTotalBytes ?? defaultKvLimits.totalBytes,
  }
  const chain = await createChainConnection({
    rpcUrl: options.rpcUrl,
    ...(options.chain?.pollingIntervalMs ? { pollingIntervalMs: options.chain.pollingIntervalMs } : {}),
  })
  // Commands and reports are signed in one domain: this chain and the DeviceRegistry the cars trust.
  const registry = options.contracts?.DeviceRegistry
  const domain = registry ? pbjDomain({ chainId: chain.chainId, registry }) : undefined
  const signer = resolveCommandSigner({
    operatorKey: options.operatorKey,
    domain,
    validityMs: options.commandValidityMs,
  })
  const broker = await createMqttBroker({
    url: options.brokerUrl,
    clientId: `pbj-engine-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    ...Object.fromEntries(Object.entries(options.broker ?? {}).filter(([, v]) => v !== undefined)),
    domain,
    logger,
  })
  const events = createEmitter<EngineEvents>()
  const store = createSqliteStore({ path: options.database })
  const relayer = options.operatorKey
    ? createRelayer({
        ...options.relayer,
        rpc: options.rpcUrl,
        store,
        account: options.operatorKey as Hex,
        chainId: chain.chainId,
        logger,
      })
    : null
  const blockTimes = createBlockTimes({ chain, store, events })
  const common: Common = {
    options: {
      chainId: chain.chainId,
      contracts: options.contracts ?? {},
      secrets: options.secrets ?? {},
      limits: { ...limits, ...kvLimits },
      retry: {
        maxAttempts: options.retry?.maxAttempts ?? 8,
        backoffMs: options.retry?.backoffMs ?? 200,
        maxBackoffMs: options.retry?.maxBackoffMs ?? 30_000,
        on: 'faults',
      },
    },
    logger,
    metrics: createMetrics(),
    shutdown: createShutdown(),
  }
  // A block's runs mostly wait on chain reads, which are batched per block: let a thousand overlap.
  const queue = createMemoryQueue({ concurrency: options.limits?.concurrency ?? 1024 })
  // Delivers desired device state from the store's outbox to the broker, through outages.
  const dispatcher = createDeviceDispatcher({
    store,
    broker,
    events,
    signer,
    chainTime: blockTimes.timeOf,
    logger,
    ...options.devices,
  })
  const sandbox =
    options.sandbox?.isolation === 'process' ? createProcessSandbox(limits) : createSandbox(limits)
  const payment = options.payment
    ? createPaymentMeter({ store, chain, relayer, queue, logger }, options.payment)
    : null
  // Replaced whole by setFunctions (hot reload); the stages read it through the getters below.
  let loaded: LoadedFunctions = { functions: new Map(), index: createTriggerIndex([], {}) }
  const host: HostServices = {
    chain,
    store,
    dispatcher,
    logger,
    relayer,
    deviceClass,
    // The signer's: null without an operator key or a DeviceRegistry (then nothing can be signed anyway).
    operator: signer.address as Address | null,
    contracts: common.options.contracts,
    limits: common.options.limits,
    get functions() {
      return loaded.functions
    },
  }
  const runServices: RunJobServices = {
    common,
    store,
    sandbox,
    events,
    payment,
    host,
    get functions() {
      return loaded.functions
    },
  }
  const blockServices: BlockServices & ReorgServices = {
    common,
    chain,
    store,
    queue,
    events,
    get index() {
      return loaded.index
    },
    get functions() {
      return loaded.functions
    },
  }
  let paymentPoll: NodeJS.Timeout | undefined
  const refreshPayment = () =>
    void payment
      ?.refresh()
      .catch((e) => logger.warn(`payment: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`))
  // A tracker pass that failed (the RPC away) is retried on the next block: a warning, not an engine error.
  relayer?.events.on('error', (e) => logger.warn(`relayer: ${e instanceof Error ? e.message : String(e)}`))
  // Each processed block wakes the relayer's tracker, so receipts and replacements follow the chain.
  events.on('block', (b) => relayer?.poke(b.number))
  // Deposits (and settlements) show in the balance read after each block; the poll covers a quiet chain.
  if (payment) events.on('block', refreshPayment)

  const setFunctions = async (functions: readonly FunctionBundle[]) => {
    for (const f of functions) checkGrantsAgainstConfig(f, common.options)
    const index = createTriggerIndex(functions, common.options.contracts)
    for (const name of loaded.functions.keys())
      if (!functions.some((f) => f.name === name)) sandbox.unload(name)
    for (const f of functions) await sandbox.load(f)
    loaded = { functions: new Map(functions.map((f) => [f.name, f])), index }
  }
  await setFunctions(options.functions)

  const offReported = broker.onReported((message, receivedAt) => {
    void store
      .recordReported(message.deviceId.toLowerCase(), message.state, message.version, receivedAt)
      .then(() =>
        events.emit('device:reported', {
          deviceId: message.deviceId.toLowerCase(),
          version: message.version,
          state: message.state,
          receivedAt,
        }),
      )
  })

  let stopFollowing: (() => Promise<void>) | undefined
  // Retries wait in the store, not in timers, so they survive a restart and `pbj runs retry` reaches a
  // running engine.
  const retrySweep = setInterval(() => {
    void store
      .claimDueRetries(Date.now())
      .then((jobs) => queue.push(jobs))
      .catch((error) => events.emit('error', error))
  }, options.retrySweepMs ?? 100)
  retrySweep.unref()
  // What stop() undoes, in this order: nothing new starts, work in flight drains, connections close last.
  common.shutdown.add(async () => {
    clearInterval(retrySweep)
    clearInterval(paymentPoll)
    await stopFollowing?.()
    await queue.close()
    await relayer?.close()
    await dispatcher.close()
    blockTimes.close()
    offReported()
    sandbox.dispose()
    await Promise.allSettled([broker.close(), chain.close()])
    await store.close()
  })
  return {
    chainId: chain.chainId,
    events,
    store,
    async start() {
      await armSchedules(blockServices)
      // Desired states a crash (or a broker outage before it) left unpublished go out first.
      await dispatcher.start()
      if (payment) {
        await payment.start()
        paymentPoll = setInterval(refreshPayment, options.payment?.pollMs ?? 1_000)
        paymentPoll.unref()
      }
      queue.start((job) => runJob(runServices, job))
      queue.push(await store.unfinishedJobs())
      // Transactions a crash left signed but unsent go out now; pending ones are followed again.
      relayer?.start()
      stopFollowing = await followHeads({
        chain,
        store,
        onBlock: (header, receivedAt, prefetched) =>
          processBlock(blockServices, header, receivedAt, prefetched),
        addresses: () => loaded.index.addresses,
        onReorg: (ancestor) => handleReorg(blockServices, ancestor),
        ...(options.chain?.startBlock === undefined ? {} : { startBlock: options.chain.startBlock }),
        logger,
        onError: (error) => {
          logger.error(`chain follower: ${error instanceof Error ? error.message : String(error)}`)
          events.emit('error', error)
        },
      })
    },
    setFunctions: async (functions) => {
      await setFunctions(functions)
      await armSchedules(blockServices)
    },
    functionNames: () => [...loaded.functions.keys()],
    relayer,
    payment,
    idle: async () => {
      await queue.idle()
      await dispatcher.settled()
    },
    stop: () => common.shutdown.kill(),
  }
}

/**
 * Gives every schedule function its first timer, unless the store already has one or (for a one-off `at`)
 * the processed blocks already reached it.
 */
async function armSchedules(services: Pick<BlockServices, 'common' | 'chain' | 'store' | 'index'>) {
  const { index, chain, store } = services
  if (index.schedules.length === 0) return
  const head = await chain.getHeader('latest')
  const cursor = await store.getCursor(services.common.options.chainId)
  for (const s of index.schedules) {
    // A one-off `at` timer is deleted when it fires: do not re-arm it (on restart or hot reload) once the
    // blocks already processed have reached it, or it would run again.
    if (s.every === undefined && s.at !== undefined && cursor && cursor.timestamp >= BigInt(s.at)) continue
    const at = s.at !== undefined ? BigInt(s.at) : head.timestamp + BigInt(s.every ?? 0)
    await store.ensureTimer({
      id: `${s.functionName}:schedule`,
      functionName: s.functionName,
      key: 'schedule',
      at,
    })
  }
}
