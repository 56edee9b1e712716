import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { carLoanAbi, carWalletAbi } from '@pbj/contracts'
import { type DeviceAgent, startSimulatedCar } from '@pbj/device'
import Database from 'better-sqlite3'
import { createTestClient, http } from 'viem'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { startAnvil } from '#pbj/chain/startAnvil.js'
import { createDemoCar, type DemoCar } from '#pbj/demo/createDemoCar.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import { deployDemo } from '#pbj/demo/deployDemo.js'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { getFreePort } from '#pbj/internal/freePort.js'
import { exited, spawnEngine } from './spawnEngine.js'

/** What a fault run counts, from the devices' own records of what they applied. */
export type FaultReport = {
  kills: number
  reorgs: number
  outages: number
  lost: number
  duplicated: number
  wrongLocks: number
  cars: number
  delinquent: number
  paid: number
  blocks: number
  seconds: number
}

type Applied = { commandId: string | null; version: number; locked: boolean }

/**
 * A fault-injection run on a real Anvil, a real broker and the engine as its own process: many loans whose
 * deadlines fall during the run, half paid on time; the engine is killed with SIGKILL at random moments
 * (and, optionally, chain reorgs and broker outages are injected). At the end every delinquent car must be
 * locked, no paid car ever locked, and no command applied twice — counted from what the cars applied.
 *
 * @example
 * const report = await runFaults({ cars: 20, kills: 20, reorgs: 0, outages: 0 })
 */
export async function runFaults(options: {
  cars: number
  kills: number
  reorgs: number
  outages: number
  log?: (line: string) => void
}): Promise<FaultReport> {
  const log = options.log ?? (() => {})
  const started = performance.now()
  const anvil = await startAnvil()
  const brokerPort = await getFreePort()
  // The engine runs in a child process that logs in across broker restarts: one login for every start.
  const engineLogin = { username: 'pbj-engine', password: randomBytes(18).toString('base64url') }
  let broker = await startEmbeddedBroker({ port: brokerPort, engineLogin })
  const dir = join(process.cwd(), 'node_modules', `.pbj-faults-${process.pid}-${Date.now()}`)
  mkdirSync(dir, { recursive: true })
  const agents: DeviceAgent[] = []
  let engine: ReturnType<typeof spawnEngine> | null = null
  try {
    const deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
    const cars: (DemoCar & { payer: boolean })[] = []
    for (let i = 0; i < options.cars; i++) {
      // Graces from 2 to 6 days spread the deadlines over the run (48 hours at least: the final warning).
      const car = await createDemoCar(deployment, { grace: 86_400 * (2 + (i % 5)) })
      cars.push({ ...car, payer: i % 2 === 0 })
    }
    log(`faults: ${cars.length} cars with loans on chain ${anvil.chainId}`)
    const { chain, publicClient: pub, owner } = demoClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
    const test = createTestClient({ chain, mode: 'anvil', transport: http(anvil.rpcUrl) })

    writeFileSync(
      join(dir, 'pbj.config.json'),
      JSON.stringify({
        rpcUrl: [anvil.wsUrl, anvil.rpcUrl],
        brokerUrl: broker.url,
        broker: engineLogin,
        database: join(dir, 'pbj.db'),
        functions: join(demoProjectDir, 'functions'),
        contracts: Object.fromEntries(
          Object.entries(deployment.contracts).map(([n, a]) => [n, { address: a }]),
        ),
        operatorKey: deployment.accounts.operator.privateKey,
        limits: { timeoutMs: 2000 },
        chain: { startBlock: 0 },
        // Any free port: the default 9464 may be another engine's (a test running beside this one).
        health: { port: 0 },
      }),
    )

    const applied = new Map<string, Applied[]>()
    for (const car of cars) {
      const entries: Applied[] = []
      applied.set(car.deviceId, entries)
      agents.push(
        await startSimulatedCar({
          brokerUrl: broker.url,
          deviceKey: car.devicePrivateKey,
          chain: {
            rpcUrl: anvil.rpcUrl,
            chainId: deployment.chainId,
            registry: deployment.contracts.DeviceRegistry,
          },
          print: () => {},
          // The car's own record of each command it applied: what the counts below are made from.
          onApplied: (e) => entries.push({ commandId: e.commandId, version: e.version, locked: e.locked }),
        }),
      )
    }

    // Payers pay the first installment now: they are never delinquent during the run.
    for (const car of cars.filter((c) => c.payer)) {
      await owner.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'reload',
        args: [car.installment],
      })
    }

    let kills = 0
    let reorgs = 0
    let outages = 0
    let ready: Promise<void> = Promise.resolve()
    const start = () => {
      let markReady = () => {}
      ready = new Promise((resolve) => {
        markReady = resolve
      })
      engine = spawnEngine(dir, (line) => {
        if (line.includes('engine running')) markReady()
        if (process.env.PBJ_FAULTS_VERBOSE || /error|warn/i.test(line)) log(`engine: ${line}`)
      })
    }
    start()
    await new Promise((r) => setTimeout(r, 1500))

    // Chain time walks past every deadline in steps; faults are injected between steps.
    const maxLockAt = Math.max(...cars.map((c) => Number(c.firstDueAt) + c.grace))
    const now = Number((await pub.getBlock({ blockTag: 'latest' })).timestamp)
    const steps = Math.max(options.kills, options.reorgs, options.outages, 30) + 10
    const stepSeconds = Math.ceil((maxLockAt - now + 3_600) / steps)
    for (let step = 0; step < steps; step++) {
      // Absolute chain times, so a reorg (whose blocks carry wall-clock time) does not shift the timeline.
      await test.setNextBlockTimestamp({ timestamp: BigInt(now + (step + 1) * stepSeconds) })
      await test.mine({ blocks: 1 })
      const due = (n: number) => Math.floor(((step + 1) * n) / steps) > Math.floor((step * n) / steps)
      if (due(options.kills) && kills < options.kills) {
        // Every other kill lands while the engine is running and processing the block just mined; the
        // others land anywhere, start-up and catch-up included.
        if (kills % 2 === 0) await Promise.race([ready, new Promise((r) => setTimeout(r, 5_000))])
        await new Promise((r) => setTimeout(r, Math.random() * (kills % 2 === 0 ? 30 : 600)))
        const victim = engine as ReturnType<typeof spawnEngine> | null
        victim?.kill('SIGKILL')
        if (victim) await exited(victim)
        kills++
        start()
      }
      if (due(options.reorgs) && reorgs < options.reorgs) {
        const depth = 1 + (reorgs % 5)
        await test.request({ method: 'anvil_reorg', params: [depth, []] } as never)
        reorgs++
      }
      if (due(options.outages) && outages < options.outages) {
        await broker.close()
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700))
        broker = await startEmbeddedBroker({ port: brokerPort, engineLogin })
        outages++
      }
      await new Promise((r) => setTimeout(r, 40 + Math.random() * 200))
    }
    log(
      `faults: ${kills} kills, ${reorgs} reorgs, ${outages} outages injected; waiting for the engine to settle`,
    )

    // The last block lies past every deadline, whatever the reorgs did to the blocks before it.
    await test.setNextBlockTimestamp({
      timestamp: BigInt(Math.max(now + steps * stepSeconds, maxLockAt) + 60),
    })
    await test.mine({ blocks: 1 })

    // Settle: the engine has processed the head and has no unfinished jobs; cars reach their final state.
    const head = await pub.getBlockNumber({ cacheTime: 0 })
    const delinquent = new Set<string>()
    for (const car of cars) {
      const late = await pub.readContract({
        address: deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'isDelinquent',
        args: [car.loanId],
      })
      if (late) delinquent.add(car.deviceId)
    }
    const deadline = Date.now() + 30_000
    for (;;) {
      const settled = settledAt(join(dir, 'pbj.db'), anvil.chainId, head)
      const converged = cars.every(
        (c) => agentOf(agents, c.deviceId)?.state().locked === delinquent.has(c.deviceId),
      )
      if ((settled && converged) || Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 200))
    }

    let lost = 0
    let duplicated = 0
    let wrongLocks = 0
    for (const car of cars) {
      const entries = applied.get(car.deviceId) ?? []
      const ids = entries.map((e) => e.commandId)
      duplicated += ids.length - new Set(ids).size
      const locks = entries.filter((e) => e.locked).length
      if (car.payer && locks > 0) wrongLocks++
      if (delinquent.has(car.deviceId) && agentOf(agents, car.deviceId)?.state().locked !== true) lost++
    }
    return {
      kills,
      reorgs,
      outages,
      lost,
      duplicated,
      wrongLocks,
      cars: cars.length,
      delinquent: delinquent.size,
      paid: cars.filter((c) => c.payer).length,
      blocks: Number(head),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    }
  } finally {
    const last = engine as ReturnType<typeof spawnEngine> | null
    if (last) {
      last.kill('SIGKILL')
      await exited(last)
    }
    for (const a of agents) await a.close().catch(() => {})
    await broker.close().catch(() => {})
    await anvil.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const agentOf = (agents: DeviceAgent[], id: string) =>
  agents.find((a) => a.deviceId.toLowerCase() === id.toLowerCase())

/** True when the engine's store has processed `head` and has no job left to run. */
function settledAt(path: string, chainId: number, head: bigint): boolean {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true })
    try {
      const cursor = db.prepare('SELECT number FROM cursor WHERE chain_id = ?').get(chainId) as
        | { number: number }
        | undefined
      const open = db
        .prepare("SELECT count(*) AS n FROM jobs WHERE status IN ('pending', 'running')")
        .get() as { n: number }
      return cursor !== undefined && BigInt(cursor.number) >= head && open.n === 0
    } finally {
      db.close()
    }
  } catch {
    return false
  }
}
