import { messageOf } from '@pbj/internal/messageOf.js'
import type { ReconcileSummary } from '../actions/devices/createChainReconciler.js'
import type { Relayer } from '../actions/relayer/createRelayer.js'
import { checkGrantsAgainstConfig } from '../capabilities/checkGrantsAgainstConfig.js'
import { followHeads } from '../chain/followHeads.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Store } from '../core/store.js'
import type { Emitter } from '../internal/createEmitter.js'
import { MissingConfigError } from '../internal/errors.js'
import type { Health } from '../internal/health.js'
import { silentLogger } from '../internal/logger.js'
import type { Metrics } from '../internal/metrics.js'
import type { PaymentMeter } from '../payment/createPaymentMeter.js'
import type { FunctionBundle } from '../runtime/loadFunction.js'
import { createTriggerIndex } from '../triggers/createTriggerIndex.js'
import { createEngineServices } from './createEngineServices.js'
import type { EngineOptions } from './engineOptions.js'
import { type BlockServices, processBlock } from './processBlock.js'
import { runJob } from './runJob.js'
import { sampleChainMetrics } from './sampleChainMetrics.js'
import { defaultKvLimits } from './setKv.js'
import type { EngineSettings, LoadedFunctions } from './types.js'
import { watchLag } from './watchLag.js'
import { wireReconciliation } from './wireReconciliation.js'

/** A running engine. */
export type Engine = {
  chainId: number
  events: Emitter<EngineEvents>
  store: Store
  /** The readiness checks /readyz serves (chain, broker, store, lag…). */
  health: Health
  /** The engine's metrics, on its own Prometheus registry (/metrics). */
  metrics: Metrics
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
  /**
   * Reconciles every device with the chain now (reason `manual`; see createChainReconciler) and resolves
   * with what the pass did; null when the device class cannot say what the chain wants.
   */
  reconcile(): Promise<ReconcileSummary | null>
  stop(): Promise<void>
  /**
   * For a forced exit (a second SIGTERM): ends the sandbox's isolates at once. A process that exits while an
   * isolate still runs crashes in isolated-vm's teardown (SIGSEGV instead of its exit code).
   */
  abort(): void
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
  const settings: Omit<EngineSettings, 'chainId'> = {
    contracts: options.contracts ?? {},
    secrets: options.secrets ?? {},
    limits: {
      timeoutMs: options.limits?.timeoutMs ?? 5_000,
      memoryMb: options.limits?.memoryMb ?? 64,
      kvValueBytes: options.limits?.kvValueBytes ?? defaultKvLimits.valueBytes,
      kvTotalBytes: options.limits?.kvTotalBytes ?? defaultKvLimits.totalBytes,
    },
    retry: {
      maxAttempts: options.retry?.maxAttempts ?? 8,
      backoffMs: options.retry?.backoffMs ?? 200,
      maxBackoffMs: options.retry?.maxBackoffMs ?? 30_000,
      on: 'faults',
    },
  }
  // Replaced whole by setFunctions (hot reload); the services read it through getters.
  let loaded: LoadedFunctions = { functions: new Map(), index: createTriggerIndex([], {}) }
  const services = await createEngineServices(options, {
    logger,
    deviceClass,
    settings,
    loaded: () => loaded,
  })
  const { common, chain, broker, events, store, relayer, blockTimes, queue, dispatcher, sandbox, payment } =
    services
  const reconciliation = wireReconciliation(services, { intervalMs: options.reconcile?.intervalMs ?? 60_000 })
  const { runServices, blockServices, health } = services
  // Sampled at each scrape only: the follower's hot path records nothing for them.
  const offSample = common.metrics.onCollect(() =>
    sampleChainMetrics({ chain, store, queue, metrics: common.metrics }),
  )
  let stopLag: (() => void) | undefined
  let paymentPoll: NodeJS.Timeout | undefined
  let retrySweep: NodeJS.Timeout | undefined
  let offReported: (() => void) | undefined
  let stopFollowing: (() => Promise<void>) | undefined
  // What stop() undoes, in this order: nothing new starts, work in flight drains, connections close last.
  // Registered before the first step that can fail, so a failed start-up closes everything it opened.
  common.shutdown.add(async () => {
    clearInterval(retrySweep)
    clearInterval(paymentPoll)
    await reconciliation.close()
    stopLag?.()
    offSample()
    await stopFollowing?.()
    await drainRuns()
    await relayer?.close()
    await dispatcher.close()
    blockTimes.close()
    offReported?.()
    sandbox.dispose()
    await Promise.allSettled([broker.close(), chain.close()])
    await store.close()
  })
  /**
   * Waits for the runs in flight, bounded: a run still going past twice its timeout (a host call that
   * hangs) is left as it is in the store, and the next start runs it again.
   */
  const drainRuns = async () => {
    const boundMs = 2 * settings.limits.timeoutMs + 1_000
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, boundMs, false)
    })
    const drained = await Promise.race([queue.close().then(() => true), late])
    clearTimeout(timer)
    if (!drained)
      logger.warn(`runs still in flight after ${boundMs} ms: left to run again at the next start`, {
        inFlight: queue.size(),
      })
  }
  /** Runs a start-up step; if it throws, closes everything the engine opened and rethrows. */
  const orClose = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step()
    } catch (error) {
      await common.shutdown.kill()
      throw error
    }
  }
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
  await orClose(() => setFunctions(options.functions))

  offReported = broker.onReported((message, receivedAt) => {
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
      // Not recorded (the store refused, or closed under it): the device's state stays unknown to pbj until
      // its next report, which a correction or the reconciliation asks for; nothing else waits on this one.
      .catch((error: unknown) =>
        logger.warn(
          `the report of ${message.deviceId} (version ${message.version}) was not recorded: ${messageOf(error, { firstLine: true })}`,
          { deviceId: message.deviceId.toLowerCase(), version: message.version },
        ),
      )
  })

  // Retries wait in the store, not in timers, so they survive a restart and `pbj runs retry` reaches a
  // running engine.
  retrySweep = setInterval(() => {
    // On a full disk a claim would only wait for space: the first sweep after it claims what is due.
    if (services.health.report().checks.store?.ok === false) return
    void store
      .claimDueRetries(Date.now())
      .then((jobs) => queue.push(jobs))
      .catch((error) => events.emit('error', error))
  }, options.retrySweepMs ?? 100)
  retrySweep.unref()
  const engine: Engine = {
    chainId: chain.chainId,
    events,
    store,
    health,
    metrics: common.metrics,
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
        // Reorgs (deep ones too) roll back, then every device is reconciled with the chain.
        ...reconciliation.follow,
        ...(options.chain?.startBlock === undefined ? {} : { startBlock: options.chain.startBlock }),
        ...(options.chain?.maxReorgDepth === undefined ? {} : { maxReorgDepth: options.chain.maxReorgDepth }),
        logger,
        onError: (error) => {
          logger.error(`chain follower: ${messageOf(error)}`)
          events.emit('error', error)
        },
        onRpcState: (ok, detail) => health.set('chain', ok, detail),
      })
      reconciliation.start()
      stopLag = watchLag(
        { health, chain, store, events },
        { readyLagBlocks: options.readyLagBlocks ?? 5, startBlock: options.chain?.startBlock ?? 'latest' },
      )
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
    reconcile: () => reconciliation.reconciler.reconcile('manual'),
    stop: () => common.shutdown.kill(),
    abort: () => sandbox.dispose(),
  }
  // A start that fails (the node gone, the outbox unreadable) closes what the engine opened, as above.
  const startEngine = engine.start
  engine.start = () => orClose(startEngine)
  return engine
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
