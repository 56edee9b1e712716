import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { carLoanAbi, carWalletAbi } from '@pbj/contracts'
import { type AppliedEntry, type DeviceAgent, startSimulatedCar } from '@pbj/device'
import { createTestClient, type Hex, http } from 'viem'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import type { DeviceClass } from '#pbj/actions/devices/deviceClass.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { startDemoStack } from '#pbj/demo/startDemoStack.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import type { EngineOptions } from '#pbj/engine/engineOptions.js'
import { waitFor } from '#pbj/internal/waitFor.js'
import type { FunctionBundle } from '#pbj/runtime/loadFunction.js'
import { loadFunctions } from '#pbj/runtime/loadFunctions.js'
import { recordLogs } from './recordLogs.js'

/** Brokers the end-to-end tests run against: the embedded aedes, and Mosquitto on this machine. */
export const brokers = [
  { name: 'aedes (embedded, MQTT 3.1.1)', url: undefined, protocolVersion: 4 as const },
  { name: 'Mosquitto (MQTT 5)', url: 'mqtt://127.0.0.1:1883', protocolVersion: 5 as const },
]

/** Everything an end-to-end test drives: a real Anvil, a real broker, the engine and one simulated car. */
export async function startScenario(options: {
  brokerUrl?: string | undefined
  protocolVersion?: 4 | 5
  extraFunctions?: FunctionBundle[]
  /** Replaces the demo's functions (examples/car-loan/functions). */
  functions?: FunctionBundle[]
  period?: number
  grace?: number
  /** The engine's RPC URLs, e.g. through a fault-injecting proxy (default: Anvil's ws, then http). */
  rpcUrl?: (anvil: {
    rpcUrl: string
    wsUrl: string
  }) => string | readonly string[] | Promise<string | readonly string[]>
  /** Where the engine runs isolates (EngineOptions.sandbox); default: the engine's default. */
  sandbox?: EngineOptions['sandbox']
  /** The engine's device class (EngineOptions.deviceClass); default: the immobilizer over CarLoan. */
  deviceClass?: EngineOptions['deviceClass']
  /** Topic prefix of the engine and the car; default: a random one, so tests sharing a broker do not mix. */
  topicPrefix?: string
  /** The engine's broker credentials. */
  brokerAuth?: { username: string; password: string }
  /** The car's broker credentials. */
  carAuth?: { username: string; password: string }
  /** The wall clock of the car's immobilizer (emergency restarts), in ms; default Date.now. */
  carClock?: () => number
  /**
   * A plain device instead of a car: it applies `locked` as it comes (no immobilizer, so no warnings are
   * needed before a lock), and the demo's warning functions are left out. For tests of delivery (outbox,
   * outages, crashes), not of the car's safety rules.
   */
  plainDevice?: boolean
  /** Whether the car checks each lock against its own loan (DeviceAgentOptions.chain.loans); default true. */
  carChecksLoan?: boolean
  /** The car's device key (its id is the key's address), e.g. to create its broker user beforehand. */
  devicePrivateKey?: Hex
  /** The config's secrets (EngineOptions.secrets); each function gets those its capabilities name. */
  secrets?: Record<string, string>
  /** The engine's correction backoff and reconciliation of devices behind their desired state. */
  devices?: EngineOptions['devices']
  /** The engine's chain-level reconciliation (EngineOptions.reconcile), e.g. a short interval. */
  reconcile?: EngineOptions['reconcile']
  /** The engine's deepest reorg rolled back to a common block (EngineOptions.chain.maxReorgDepth). */
  maxReorgDepth?: number
}) {
  // The embedded broker is started here rather than by the stack, so a test can stop and restart it.
  let embedded: EmbeddedBroker | undefined = options.brokerUrl ? undefined : await startEmbeddedBroker()
  const embeddedPort = embedded?.port
  const stack = await startDemoStack({ cars: 0, brokerUrl: options.brokerUrl ?? (embedded?.url as string) })
  const { createDemoCar } = await import('#pbj/demo/createDemoCar.js')
  const car = await createDemoCar(stack.deployment, {
    ...(options.period ? { period: options.period } : {}),
    ...(options.grace ? { grace: options.grace } : {}),
    ...(options.devicePrivateKey ? { devicePrivateKey: options.devicePrivateKey } : {}),
  })
  const dir = mkdtempSync(join(tmpdir(), 'pbj-e2e-'))
  const topicPrefix = options.topicPrefix ?? `pbjtest-${Math.random().toString(36).slice(2, 10)}`
  const loaded = options.functions
    ? { functions: options.functions, errors: [] }
    : await loadFunctions(join(demoProjectDir, 'functions'))
  if (loaded.errors.length) throw loaded.errors[0]
  if (options.plainDevice && !options.functions) {
    const warnings = new Set(['warnOnMissedDueDate', 'finalWarningBeforeLock'])
    loaded.functions = loaded.functions.filter((f) => !warnings.has(f.name))
  }
  const functions = loaded.functions
  // The engine's log records (its warnings): tests read them with logs.followWarnings().
  const logs = recordLogs()
  const engineOptions = {
    rpcUrl: options.rpcUrl ? await options.rpcUrl(stack) : [stack.wsUrl, stack.rpcUrl],
    brokerUrl: stack.brokerUrl,
    broker: { topicPrefix, protocolVersion: options.protocolVersion ?? 4, ...options.brokerAuth },
    database: join(dir, 'pbj.db'),
    functions: [...functions, ...(options.extraFunctions ?? [])],
    contracts: stack.deployment.contracts,
    operatorKey: stack.deployment.accounts.operator.privateKey,
    limits: { timeoutMs: 1000, memoryMb: 32 },
    logger: logs.logger,
    ...(options.sandbox ? { sandbox: options.sandbox } : {}),
    deviceClass:
      options.deviceClass !== undefined
        ? options.deviceClass
        : options.plainDevice
          ? withoutSchedule(immobilizerClass({ contract: 'CarLoan' }))
          : immobilizerClass({ contract: 'CarLoan' }),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...(options.devices ? { devices: options.devices } : {}),
    ...(options.reconcile ? { reconcile: options.reconcile } : {}),
    ...(options.maxReorgDepth ? { chain: { maxReorgDepth: options.maxReorgDepth } } : {}),
  }
  let engine = await createEngine(engineOptions)
  // The car's own records, kept across its restarts: what it applied (onApplied and its log file) and
  // the commands it refused.
  const applied: AppliedEntry[] = []
  const rejected: string[] = []
  const carLogFile = join(dir, 'car.log')
  const startCar = async () => {
    const started = await startSimulatedCar({
      brokerUrl: stack.brokerUrl,
      deviceKey: car.devicePrivateKey,
      chain: {
        rpcUrl: stack.rpcUrl,
        chainId: stack.deployment.chainId,
        registry: stack.deployment.contracts.DeviceRegistry,
        ...(options.carChecksLoan === false ? {} : { loans: stack.deployment.contracts.CarLoan }),
      },
      topicPrefix,
      protocolVersion: options.protocolVersion ?? 4,
      ...options.carAuth,
      ...(options.carClock ? { clock: options.carClock } : {}),
      ...(options.plainDevice ? { immobilizer: false } : {}),
      stateFile: join(dir, 'car.json'),
      logFile: carLogFile,
      onApplied: (entry) => applied.push(entry),
      onRejected: (reason) => rejected.push(reason),
      print: () => {},
    })
    await started.ready
    return started
  }
  let agent: DeviceAgent = await startCar()
  const runs: EngineEvents['run'][] = []
  const desired: EngineEvents['device:desired'][] = []
  const listen = (e: Engine) => {
    e.events.on('run', (r) => runs.push(r))
    e.events.on('device:desired', (d) => desired.push(d))
  }
  listen(engine)
  await engine.start()

  const { chain, publicClient: pub, owner } = demoClients({ rpcUrl: stack.rpcUrl, chainId: engine.chainId })
  const test = createTestClient({ chain, mode: 'anvil', transport: http(stack.rpcUrl) })
  await test.setAutomine(false)

  let carOnline = true
  /**
   * Waits (at most 2 s) until the running car has applied the last command the broker acknowledged: the car
   * verifies each command (signature, then its registry) before applying it, so the PUBACK comes first.
   */
  const carCaughtUp = async () => {
    const last = desired.at(-1)
    if (!carOnline || !last) return
    const deadline = performance.now() + 2_000
    while (agent.state().version < last.version && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  const mineOne = async (timestamp?: bigint) => {
    if (timestamp !== undefined) await test.setNextBlockTimestamp({ timestamp })
    const next = (await pub.getBlockNumber({ cacheTime: 0 })) + 1n
    const processed = waitFor(engine.events, 'block', (b) => b.number === next, 10_000, `block ${next}`)
    await test.mine({ blocks: 1 })
    const block = await processed
    await engine.idle()
    await carCaughtUp()
    return block
  }
  /** The loan's warning times still ahead of the chain's head: its next due date and final warning. */
  const warningTimes = async () => {
    const read = { address: stack.deployment.contracts.CarLoan, abi: carLoanAbi, args: [car.loanId] } as const
    const [loan, finalWarningAt, head] = await Promise.all([
      pub.readContract({ ...read, functionName: 'getLoan' }),
      pub.readContract({ ...read, functionName: 'finalWarningAt' }),
      pub.getBlock({ blockTag: 'latest' }),
    ])
    if (loan.outstanding === 0n) return []
    return [loan.nextDueAt, finalWarningAt].filter((at) => at > head.timestamp)
  }

  const scenario = {
    logs,
    stack,
    car,
    get agent() {
      return agent
    },
    get engine(): Engine {
      return engine
    },
    runs,
    desired,
    topicPrefix,
    /** The engine's SQLite file (the same across restarts). */
    database: engineOptions.database,
    /** The embedded broker's engine login (undefined with another broker): a client that may publish anywhere. */
    get engineLogin() {
      return embedded?.engineLogin
    },
    applied,
    rejected,
    /** The lines of the car's log file: one per command it applied, across its restarts. */
    carLog: (): AppliedEntry[] => {
      let text = ''
      try {
        text = readFileSync(carLogFile, 'utf8')
      } catch {}
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AppliedEntry)
    },
    /** Takes the car offline (its agent stops); `startCar` brings it back with its saved state. */
    stopCar: () => {
      carOnline = false
      return agent.close()
    },
    async startCar() {
      agent = await startCar()
      carOnline = true
    },
    /** Stops the embedded broker (it forgets its retained messages); the url stays the same. */
    async stopBroker() {
      if (!embedded) throw new Error('stopBroker needs the embedded broker')
      await embedded.close()
    },
    /** Starts the embedded broker again on the same port. */
    async startBroker() {
      embedded = await startEmbeddedBroker({ port: embeddedPort as number })
    },
    /** Stops the engine, runs `between`, then starts a new engine on the same database (a crash, a deploy). */
    async restartEngine(between?: () => Promise<void>) {
      await engine.stop()
      await between?.()
      engine = await createEngine(engineOptions)
      listen(engine)
      await engine.start()
    },
    pub,
    test,
    loan: () =>
      pub.readContract({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [car.loanId],
      }),
    /**
     * Mines a block (optionally at a timestamp) and waits until pbj has processed it and finished its runs.
     * A jump past the loan's warning times (the missed due date, and lockAt - finalWarning) first mines a
     * block at each, as a real chain would have: the car disables only after it has shown the warnings
     * (packages/device/src/immobilizer.ts). Pending transactions go into the first block mined.
     */
    async mine(timestamp?: bigint) {
      if (timestamp !== undefined) {
        for (const at of await warningTimes()) if (at < timestamp) await mineOne(at)
      }
      return mineOne(timestamp)
    },
    /** Mines exactly one block, with no warning blocks before it (see `mine`). */
    mineOne: (timestamp?: bigint) => mineOne(timestamp),
    /** Replaces the last `depth` blocks with empty ones (`anvil_reorg`) and waits until pbj has rolled back. */
    async reorg(depth: number) {
      const rolledBack = waitFor(engine.events, 'reorg', () => true, 10_000, 'pbj to see the reorg')
      const head = await pub.getBlockNumber({ cacheTime: 0 })
      const replayed = waitFor(engine.events, 'block', (b) => b.number === head, 10_000, `new block ${head}`)
      await test.request({ method: 'anvil_reorg', params: [depth, []] } as never)
      const event = await rolledBack
      await replayed
      await engine.idle()
      await carCaughtUp()
      return event
    },
    /**
     * The loan as a command to its car carries it: `lockAt` (nextDueAt + grace), and its immobilizer policy
     * as JSON numbers (`CarLoan.policyOf`), with the loan itself.
     */
    async loanTerms() {
      const read = {
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        args: [car.loanId],
      } as const
      const [loan, policy] = await Promise.all([
        pub.readContract({ ...read, functionName: 'getLoan' }),
        pub.readContract({ ...read, functionName: 'policyOf' }),
      ])
      const json = Object.fromEntries(Object.entries(policy).map(([k, v]) => [k, Number(v)]))
      return { loan, lockAt: loan.nextDueAt + loan.grace, policy: json }
    },
    /**
     * Pays installment 1 (which arms the loan's timers, the loan being older than the engine), then lets
     * the next pass due + grace unpaid, and waits until the car is locked.
     */
    async lockTheCar() {
      await scenario.reload(car.installment)
      await scenario.mine()
      const loan = await scenario.loan()
      const locked = scenario.waitForCar(true)
      await scenario.mine(loan.nextDueAt + loan.grace)
      await locked
    },
    /** Queues the owner's reload of the car's wallet (mined by the next `mine`). */
    reload: (amount: bigint) =>
      owner.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'reload',
        args: [amount],
        gas: 500_000n,
      }),
    waitForCar: (locked: boolean) =>
      agent.state().locked === locked
        ? Promise.resolve()
        : waitFor(
            engine.events,
            'device:reported',
            (r) => r.state.locked === locked,
            5_000,
            `car locked=${locked}`,
          ),
    async stop() {
      await agent.close()
      await engine.stop()
      await stack.stop()
      await embedded?.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return scenario
}

/** A started scenario. */
export type Scenario = Awaited<ReturnType<typeof startScenario>>

/**
 * A plain device has no warning stages and its scenario no warning functions: nor does the reconciler's
 * scheduled re-check warn it at the due date (its answers carry no `changesAt`), so the desired versions
 * these tests count are the functions' own.
 */
function withoutSchedule(deviceClass: DeviceClass): DeviceClass {
  const { desiredFromChain } = deviceClass
  if (!desiredFromChain) return deviceClass
  return {
    ...deviceClass,
    async desiredFromChain(deviceId, chain) {
      const answer = await desiredFromChain(deviceId, chain)
      if (!answer) return answer
      const { changesAt: _, ...rest } = answer
      return rest
    },
  }
}
