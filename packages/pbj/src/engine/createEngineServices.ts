import { dirname, resolve } from 'node:path'
import { pbjDomain } from '@pbj/device'
import type { Address, Hex } from 'viem'
import { createMqttBroker } from '../actions/broker/createMqttBroker.js'
import type { BrokerConnection } from '../actions/broker/types.js'
import { type BlockTimes, createBlockTimes } from '../actions/devices/createBlockTimes.js'
import { createDeviceDispatcher, type DeviceDispatcher } from '../actions/devices/createDeviceDispatcher.js'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { resolveCommandSigner } from '../actions/devices/resolveCommandSigner.js'
import { createRelayer, type Relayer } from '../actions/relayer/createRelayer.js'
import { createChainConnection } from '../chain/createChainConnection.js'
import { createReadMemory } from '../chain/createReadMemory.js'
import type { ChainConnection } from '../chain/types.js'
import { untilNodeAnswers } from '../chain/untilNodeAnswers.js'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Store } from '../core/store.js'
import { createEmitter, type Emitter } from '../internal/createEmitter.js'
import { createHealth, type Health } from '../internal/health.js'
import type { Logger } from '../internal/logger.js'
import { createMetrics } from '../internal/metrics.js'
import { createShutdown } from '../internal/shutdown.js'
import { urlOrigin } from '../internal/urlOrigin.js'
import { createPaymentMeter, type PaymentMeter } from '../payment/createPaymentMeter.js'
import { createMemoryQueue } from '../queue/createMemoryQueue.js'
import type { Queue } from '../queue/types.js'
import { createProcessSandbox } from '../runtime/createProcessSandbox.js'
import { createSandbox } from '../runtime/createSandbox.js'
import type { Sandbox } from '../runtime/sandboxTypes.js'
import { createDiskFullWatch, type DiskFullWatch } from '../store/createDiskFullWatch.js'
import { guardStore, whileDiskFull } from '../store/guardStore.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { checkContracts } from './checkContracts.js'
import type { EngineOptions } from './engineOptions.js'
import type { ReorgServices } from './handleReorg.js'
import type { BlockServices } from './processBlock.js'
import type { RunJobServices } from './runJob.js'
import type { Common, EngineSettings, HostServices, LoadedFunctions, RecordedCall } from './types.js'

/**
 * What {@link createEngineServices} needs besides the options: what createEngine resolved from them, and
 * where the functions loaded now are read (hot reload replaces them; the services never keep a copy).
 *
 * @example
 * const context: EngineServicesContext = { logger, deviceClass: null, settings, loaded: () => loaded }
 */
export type EngineServicesContext = {
  logger: Logger
  deviceClass: DeviceClass | null
  /** The engine's settings with their defaults filled in; the chain id is added once connected. */
  settings: Omit<EngineSettings, 'chainId'>
  loaded: () => LoadedFunctions
}

/** The stage services of one engine, connected, and the bundles each stage is handed. */
export type EngineServices = {
  common: Common
  /** The readiness checks (/readyz): store, chain and broker set here; lag by createEngine. */
  health: Health
  chain: ChainConnection
  broker: BrokerConnection
  events: Emitter<EngineEvents>
  store: Store
  /** Null without an operator key. */
  relayer: Relayer | null
  blockTimes: BlockTimes
  queue: Queue
  dispatcher: DeviceDispatcher
  sandbox: Sandbox
  /** Null without `payment`. */
  payment: PaymentMeter | null
  /** What runJob takes. */
  runServices: RunJobServices
  /** What processBlock and handleReorg take. */
  blockServices: BlockServices & ReorgServices
}

/**
 * Builds the pipeline's services — chain, command signer, broker, store, relayer, queue, device dispatcher,
 * sandbox, payment meter, the host API's services — and hands each stage the ones it uses. It connects
 * (chain, broker) but starts nothing: createEngine owns the lifecycle (start, stop, hot reload, the chain
 * follower), so this is the one place to look when a stage needs another service.
 *
 * @example
 * const services = await createEngineServices(options, { logger, deviceClass, settings, loaded: () => loaded })
 * services.queue.start((job) => runJob(services.runServices, job))
 */
export async function createEngineServices(
  options: EngineOptions,
  context: EngineServicesContext,
): Promise<EngineServices> {
  const health = options.health ?? createHealth()
  health.expect('store', 'opening the database')
  // Declared first, so the engine is not ready while it is still being built (store, chain and broker may
  // all be ok before it follows anything); createEngine's lag watcher sets it once following.
  health.expect('lag', 'not following the chain yet')
  // The store first: a database another engine holds, or a damaged one, refuses before anything connects.
  // On a full disk the open waits for space (unready), as every later write does.
  const diskFull = createDiskFullWatch({
    dir: dirname(resolve(options.database)),
    health,
    logger: context.logger,
  })
  // Aborting the start-up ends a wait for space (the open then fails with DiskFullError).
  const abort = () => diskFull.close()
  options.signal?.addEventListener('abort', abort, { once: true })
  const store = await whileDiskFull(diskFull, () =>
    guardStore(createSqliteStore({ path: options.database, engine: true }), diskFull),
  )
    .catch((error: unknown) => {
      diskFull.close()
      throw error
    })
    .finally(() => options.signal?.removeEventListener('abort', abort))
  health.set('store', true)
  // What is open so far, closed newest first if a later step fails: a start-up failure (the broker down
  // after the chain connected, a contract without code) must leave no socket or process holding the event
  // loop, or `pbj start` prints its error and never exits; and the store's lock goes with the store, so a
  // failed start leaves the database free for the next engine.
  const opened: (() => unknown)[] = [() => diskFull.close(), () => store.close()]
  try {
    return await connectServices(options, context, { health, diskFull, store }, opened)
  } catch (error) {
    for (const close of opened.reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => undefined)
    throw error
  }
}

/**
 * The rest of {@link createEngineServices}, once the store is open: connects the chain and the broker,
 * pushing onto `opened` how to close each thing it opens.
 */
async function connectServices(
  options: EngineOptions,
  context: EngineServicesContext,
  services: { health: Health; diskFull: DiskFullWatch; store: Store },
  opened: (() => unknown)[],
): Promise<EngineServices> {
  const { logger, deviceClass, settings, loaded } = context
  const { health, diskFull, store } = services
  const limits = { timeoutMs: settings.limits.timeoutMs, memoryMb: settings.limits.memoryMb }
  // A node that is down at start-up is waited for (health 'chain' false meanwhile), not a reason to exit.
  // Origins only: /readyz may be readable by anyone, and RPC URLs carry API keys, broker URLs passwords.
  health.expect('chain', `connecting to ${[options.rpcUrl].flat().map(urlOrigin).join(', ')}`)
  const chain = await createChainConnection({
    rpcUrl: options.rpcUrl,
    waitForNode: { logger, health, signal: options.signal },
    ...(options.chain?.pollingIntervalMs ? { pollingIntervalMs: options.chain.pollingIntervalMs } : {}),
  })
  opened.push(() => chain.close())
  // Before the broker: an address without code (or another contract's) is a config error; a node that
  // fails to answer meanwhile is waited for, as at the connection.
  const check = () =>
    checkContracts({
      chain,
      contracts: settings.contracts,
      deviceClass,
      paymentContract: options.payment?.contract ?? null,
    })
  await untilNodeAnswers(check, {
    urls: [options.rpcUrl].flat(),
    wait: { logger, health, signal: options.signal },
  })
  // Commands and reports are signed in one domain: this chain and the DeviceRegistry the cars trust.
  const registry = options.contracts?.DeviceRegistry
  const domain = registry ? pbjDomain({ chainId: chain.chainId, registry }) : undefined
  const signer = resolveCommandSigner({
    operatorKey: options.operatorKey,
    domain,
    validityMs: options.commandValidityMs,
  })
  health.set('chain', true)
  health.expect('broker', `connecting to the MQTT broker ${urlOrigin(options.brokerUrl)}`)
  const broker = await createMqttBroker({
    url: options.brokerUrl,
    clientId: `pbj-engine-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    ...Object.fromEntries(Object.entries(options.broker ?? {}).filter(([, v]) => v !== undefined)),
    domain,
    logger,
  })
  opened.push(() => broker.close())
  health.set('broker', true)
  broker.onConnectionChange((up) =>
    health.set(
      'broker',
      up,
      up ? undefined : `disconnected from ${urlOrigin(options.brokerUrl)}; reconnecting`,
    ),
  )
  const events = createEmitter<EngineEvents>()
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
    options: { chainId: chain.chainId, ...settings },
    logger,
    metrics: createMetrics(),
    shutdown: createShutdown(),
  }
  // First of the cleanups: writes waiting for space give up, so stopping on a full disk does not hang.
  common.shutdown.add(() => diskFull.close())
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
  opened.push(() => sandbox.dispose())
  const payment = options.payment
    ? createPaymentMeter({ store, chain, relayer, queue, logger }, options.payment)
    : null
  // The loaded functions are read through getters: setFunctions (hot reload) replaces them whole.
  // The reads each run made, per function and trigger key, for processBlock to prefetch at the next block.
  const readMemory = createReadMemory()
  // The ctx.chain.read calls each run made at its block, answered before the next run of its key
  // (createHostApi's answers).
  const callMemory = createReadMemory<RecordedCall>({ same: (a, b) => a.key === b.key })
  const host: HostServices = {
    chain,
    readMemory,
    callMemory,
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
      return loaded().functions
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
      return loaded().functions
    },
  }
  const blockServices: BlockServices & ReorgServices = {
    common,
    chain,
    readMemory,
    store,
    queue,
    events,
    get index() {
      return loaded().index
    },
    get functions() {
      return loaded().functions
    },
  }
  return {
    common,
    health,
    chain,
    broker,
    events,
    store,
    relayer,
    blockTimes,
    queue,
    dispatcher,
    sandbox,
    payment,
    runServices,
    blockServices,
  }
}
