import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { carLoanAbi, carWalletAbi } from '@pbj/contracts'
import { type DeviceAgent, startSimulatedCar } from '@pbj/device'
import { createTestClient, http } from 'viem'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { startAnvil } from '#pbj/chain/startAnvil.js'
import { createDemoCar, type DemoCar } from '#pbj/demo/createDemoCar.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import { deployDemo } from '#pbj/demo/deployDemo.js'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { getFreePort } from '#pbj/internal/freePort.js'

const day = 86_400

/** One car of the stack: its loan, whether its owner pays on time, and what the car applied. */
export type ChaosCar = DemoCar & {
  payer: boolean
  /** Every command this car's agents applied, in order (the counts are made from these). */
  applied: { commandId: string; version: number; locked: boolean; agent: number }[]
  agent: DeviceAgent | null
  /** The car's state file: a car restarted with it comes back in the state it had. */
  stateFile: string
}

/**
 * A chain (Anvil), a broker (embedded, in this process, with a fixed engine login so an engine in another
 * process logs in across its restarts), the demo contracts, `cars` financed cars (every other one pays its
 * first installment: it must never lock) each with a simulated car recording what it applied, and a project
 * folder for `pbj start` whose config uses examples/car-loan/functions.
 *
 * @example
 * const stack = await startChaosStack({ cars: 2 }); stack.writeConfig(); …; await stack.stop()
 */
export async function startChaosStack(options: { cars: number; dir?: string; payers?: boolean }) {
  const anvil = await startAnvil()
  const brokerPort = await getFreePort()
  const engineLogin = { username: 'pbj-engine', password: randomBytes(18).toString('base64url') }
  let broker: EmbeddedBroker = await startEmbeddedBroker({ port: brokerPort, engineLogin })
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pbj-chaos-'))
  const carsDir = mkdtempSync(join(tmpdir(), 'pbj-chaos-cars-'))
  mkdirSync(dir, { recursive: true })
  try {
    const deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
    const clients = demoClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
    const test = createTestClient({ chain: clients.chain, mode: 'anvil', transport: http(anvil.rpcUrl) })
    const cars: ChaosCar[] = []
    for (let i = 0; i < options.cars; i++) {
      // Grace 3 days: the warning from the due date, the final warning from day 1, the lock from day 3.
      const car = await createDemoCar(deployment, { grace: 3 * day })
      cars.push({
        ...car,
        payer: options.payers !== false && i % 2 === 1,
        applied: [],
        agent: null,
        stateFile: join(carsDir, `${car.deviceId}.json`),
      })
    }
    let agents = 0
    const stack = {
      anvil,
      deployment,
      clients,
      test,
      cars,
      dir,
      engineLogin,
      get broker() {
        return broker
      },
      database: join(dir, 'pbj.db'),
      /** The config the engines run with; `extra` is merged over it (e.g. a bad contract address). */
      config(extra: Record<string, unknown> = {}) {
        return {
          rpcUrl: [anvil.wsUrl, anvil.rpcUrl],
          brokerUrl: broker.url,
          broker: engineLogin,
          database: stack.database,
          functions: join(demoProjectDir, 'functions'),
          contracts: Object.fromEntries(
            Object.entries(deployment.contracts).map(([n, a]) => [n, { address: a }]),
          ),
          operatorKey: deployment.accounts.operator.privateKey,
          limits: { timeoutMs: 2000 },
          chain: { startBlock: 0 },
          // Any free port: the default 9464 may be another engine's.
          health: { port: 0 },
          ...extra,
        }
      },
      /** Writes pbj.config.json into the project folder (or `into`). */
      writeConfig(extra: Record<string, unknown> = {}, into = dir) {
        mkdirSync(into, { recursive: true })
        writeFileSync(join(into, 'pbj.config.json'), JSON.stringify(stack.config(extra), null, 2))
        return into
      },
      /** Starts (or restarts, from its state file when `restore`) the simulated car. */
      async startCar(car: ChaosCar, restore = false) {
        const id = ++agents
        if (!restore) rmSync(car.stateFile, { force: true })
        car.agent = await startSimulatedCar({
          brokerUrl: broker.url,
          deviceKey: car.devicePrivateKey,
          chain: {
            rpcUrl: anvil.rpcUrl,
            chainId: deployment.chainId,
            registry: deployment.contracts.DeviceRegistry,
          },
          stateFile: car.stateFile,
          print: () => {},
          onApplied: (e) =>
            car.applied.push({ commandId: e.commandId, version: e.version, locked: e.locked, agent: id }),
        })
      },
      async stopCar(car: ChaosCar) {
        await car.agent?.close().catch(() => {})
        car.agent = null
      },
      /** Stops the broker and starts it again on the same port: every retained message is gone. */
      async restartBroker() {
        await broker.close()
        broker = await startEmbeddedBroker({ port: brokerPort, engineLogin })
      },
      /** The owner reloads the car's wallet by one installment (pays it). */
      async pay(car: ChaosCar) {
        const hash = await clients.owner.writeContract({
          address: car.walletAddress,
          abi: carWalletAbi,
          functionName: 'reload',
          args: [car.installment],
        })
        return clients.publicClient.waitForTransactionReceipt({ hash })
      },
      /** Mines one block at chain time `at` (unix seconds). */
      async mineAt(at: number) {
        await test.setNextBlockTimestamp({ timestamp: BigInt(at) })
        await test.mine({ blocks: 1 })
      },
      async isDelinquent(car: ChaosCar) {
        return clients.publicClient.readContract({
          address: deployment.contracts.CarLoan,
          abi: carLoanAbi,
          functionName: 'isDelinquent',
          args: [car.loanId],
        })
      },
      /**
       * Walks chain time through the first due date of the unpaid loans: the warning, the final warning,
       * then past lockAt (each a block, `pauseMs` apart so the warnings reach the cars before the lock).
       */
      async walkToLock(pauseMs = 1500, onStep?: (step: 'warning' | 'final' | 'lock') => Promise<void>) {
        const due = Number(cars[0]?.firstDueAt ?? 0n)
        const steps = [
          ['warning', due + 60],
          ['final', due + day + 60],
          ['lock', due + 3 * day + 60],
        ] as const
        for (const [step, at] of steps) {
          await stack.mineAt(at)
          await onStep?.(step)
          if (step !== 'lock') await new Promise((r) => setTimeout(r, pauseMs))
        }
      },
      /** Waits up to `ms` for every car to be in the state `expected` gives it; true when all are. */
      async waitForCars(expected: (car: ChaosCar) => boolean, ms: number) {
        const deadline = Date.now() + ms
        for (;;) {
          if (cars.every((c) => c.agent?.state().locked === expected(c))) return true
          if (Date.now() > deadline) return false
          await new Promise((r) => setTimeout(r, 100))
        }
      },
      /**
       * lost: a car that should be locked (its loan delinquent) and is not; wrongLocks: a paying car that
       * ever applied a lock; duplicated: a command one car applied twice.
       */
      async counts() {
        let lost = 0
        let wrongLocks = 0
        let duplicated = 0
        for (const car of cars) {
          const delinquent = await stack.isDelinquent(car)
          if (delinquent && car.agent?.state().locked !== true) lost++
          if (car.payer && car.applied.some((e) => e.locked)) wrongLocks++
          // A car restarted from its state file keeps its memory: count duplicates over all its agents.
          const ids = car.applied.map((e) => e.commandId)
          duplicated += ids.length - new Set(ids).size
        }
        return { lost, wrongLocks, duplicated }
      },
      async stop() {
        for (const car of cars) await stack.stopCar(car)
        await broker.close().catch(() => {})
        await anvil.stop()
        rmSync(carsDir, { recursive: true, force: true })
        if (!options.dir) rmSync(dir, { recursive: true, force: true })
      },
    }
    // Payers pay the first installment now: they are never delinquent during a scenario.
    for (const car of cars) if (car.payer) await stack.pay(car)
    for (const car of cars) await stack.startCar(car)
    return stack
  } catch (error) {
    await broker.close().catch(() => {})
    await anvil.stop()
    rmSync(carsDir, { recursive: true, force: true })
    throw error
  }
}

export type ChaosStack = Awaited<ReturnType<typeof startChaosStack>>
