/**
 * One engine under test, in its own process so its resident memory is its alone. Driven by
 * measureGrowth over IPC (see growthMessages.ts): prime (process one block, stop), catch up after the
 * "downtime", then process live blocks while CPU is counted, then report CPU per block and memory.
 *
 * Spawned as `node --no-node-snapshot --expose-gc --import tsx bench/growth/growthChild.ts '<config json>'`.
 */
import Database from 'better-sqlite3'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import { silentLogger } from '#pbj/internal/logger.js'
import { now } from '#pbj/internal/now.js'
import { loadFunctions } from '#pbj/runtime/loadFunctions.js'
import type { ChildConfig, ChildReport, FromChild, ToChild } from './growthMessages.js'

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig
const send = (message: FromChild) => process.send?.(message)
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

const loaded = await loadFunctions(config.functionsDir)
if (loaded.errors.length > 0) throw loaded.errors[0]
let warnings = 0
let runs = 0

const openEngine = async (startBlock?: number): Promise<Engine> => {
  const engine = await createEngine({
    rpcUrl: config.rpcUrls,
    brokerUrl: config.brokerUrl,
    broker: config.brokerLogin,
    database: config.database,
    functions: loaded.functions,
    contracts: { CarLoan: config.floodAddress },
    deviceClass: immobilizerClass({ contract: 'CarLoan' }),
    ...(startBlock === undefined ? {} : { chain: { startBlock } }),
    // The first few warnings go to the parent's log; a flood of them would say the figures are not meaningful.
    logger: {
      ...silentLogger,
      warn: (message) => {
        if (warnings++ < 5) send({ type: 'warning', message })
      },
    },
  })
  engine.events.on('error', (error) => {
    if (warnings++ < 5) send({ type: 'warning', message: `error: ${String(error)}` })
  })
  engine.events.on('run', ({ run }) => {
    if (run.status === 'running') return
    runs++
    if (run.status !== 'ok' && warnings++ < 5)
      send({ type: 'warning', message: `run ${run.functionName} ${run.status}: ${run.error?.message}` })
  })
  return engine
}

/** Resolves with the wall time (ms) once the engine has processed block `head`. */
const reached = (engine: Engine, head: bigint) =>
  new Promise<number>((resolve) => {
    const off = engine.events.on('block', (b) => {
      if (b.number < head) return
      off()
      resolve(performance.now())
    })
  })

// Prime: the first engine processes the start block, so the store holds a cursor; then it is stopped.
const first = await openEngine(config.startBlock)
const primed = reached(first, BigInt(config.startBlock))
await first.start()
await primed
await first.stop()
send({ type: 'primed', cursor: String(config.startBlock) })

let engine: Engine | undefined
let measuringSince: NodeJS.CpuUsage | undefined
let measured = 0

process.on('message', (message: ToChild) => {
  void handle(message).catch((error: unknown) => {
    send({
      type: 'warning',
      message: `child failed: ${error instanceof Error ? error.stack : String(error)}`,
    })
    process.exit(1)
  })
})

async function handle(message: ToChild) {
  if (message.type === 'catchUp') {
    const head = BigInt(message.head)
    engine = await openEngine()
    const before = (await engine.store.getCursor(engine.chainId))?.number ?? 0n
    const done = reached(engine, head)
    const cpu = process.cpuUsage()
    // Timed from start(): creating the engine (loading the functions into isolates) is not catch-up.
    const started = performance.now()
    await engine.start()
    const at = await done
    await engine.idle()
    send({
      type: 'caughtUp',
      seconds: (at - started) / 1000,
      cpuMs: cpuMs(cpu),
      blocks: Number(head - before),
    })
    engine.events.on('block', (b) => {
      if (!measuringSince) return
      measured++
      void engine?.idle().then(() =>
        send({
          type: 'processed',
          number: String(b.number),
          jobs: b.jobs,
          latencyMs: now() - b.receivedAt,
        }),
      )
    })
  } else if (message.type === 'measure') {
    measuringSince = process.cpuUsage()
    measured = 0
    send({ type: 'measuring' })
  } else if (message.type === 'report') {
    const spent = measuringSince ? cpuMs(measuringSince) : 0
    const blocks = measured
    measuringSince = undefined
    globalThis.gc?.()
    globalThis.gc?.()
    const memory = process.memoryUsage()
    const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
    // Counted after the memory figure, so the read-only handle opened here does not count in it.
    const db = new Database(config.database, { readonly: true })
    const timers = (db.prepare('SELECT count(*) AS n FROM timers').get() as { n: number }).n
    db.close()
    const report: ChildReport = {
      blocks,
      cpuMs: Math.round(spent),
      cpuPerBlockMs: blocks > 0 ? Math.round((spent / blocks) * 100) / 100 : Number.NaN,
      rssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      externalMb: mb(memory.external),
      timers,
      runs,
      warnings,
    }
    send({ type: 'report', report })
    await engine?.stop()
    process.exit(0)
  }
}
