/**
 * COST GROWTH and CATCH-UP: what one engine costs as the number of loans it watches grows, and how fast it
 * catches up after downtime. See `measureGrowth` for exactly what each figure is.
 *
 * @example
 * node --no-node-snapshot --import tsx bench/growth/measureGrowth.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { startAnvil } from '#pbj/chain/startAnvil.js'
import { processCpuUs } from '../lib/cpuTime.js'
import { type Stats, log as stderrLog, summarize } from '../lib/stats.js'
import { compileLoanFlood } from './compileLoanFlood.js'
import { deployLoanFlood, type LoanFlood, type LoanTimes } from './deployLoanFlood.js'
import type { ChildReport } from './growthMessages.js'
import { spawnGrowthChild } from './spawnGrowthChild.js'

/** Options of {@link measureGrowth}. */
export type GrowthOptions = {
  quick: boolean
  log: (line: string) => void
  /** Loan counts, one engine each (default 1k, 10k, 100k, and 1M unless quick). */
  counts?: number[]
  /** Extra Node flags for the children, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  childExecArgv?: string[]
}

/** One engine's figures with `loans` watched. */
export type GrowthRun = {
  loans: number
  catchup: {
    logs: number
    blocks: number
    seconds: number
    cpuSeconds: number
    /** Anvil's CPU (all threads, /proc) while the engine caught up: the node's share of the bound. */
    anvilCpuSeconds: number | null
    logsPerSec: number
  }
  live: ChildReport & { wallPerBlockMs: Stats }
}

/** What {@link measureGrowth} returns. */
export type GrowthResult = {
  /** Engine CPU (user + system, all threads) per live block, by loan count. */
  cpuPerBlockMs: Record<string, number>
  /** The engine process's resident memory after the live blocks and a full GC, by loan count. */
  rssMb: Record<string, number>
  /** logs / seconds of the largest count's catch-up. */
  catchupLogsPerSec: number
  catchup: { logs: number; blocks: number; seconds: number }
  details: {
    runs: GrowthRun[]
    /** LoanOpened per flood block of the largest count, whose catch-up is the figure. */
    logsPerFloodBlock: number
    liveBlocks: number
    /** What each live block holds. */
    liveBlock: string
    seconds: number
  }
}

const functionsDir = 'examples/car-loan/functions'
const day = 86_400n
/**
 * LoanOpened events per flood transaction (= per block): 100k loans over 500 blocks, or over 100 in quick
 * mode, where fewer transactions keep the flood within the time budget. Past 100k loans a block holds
 * `bulkBlockLogs`: 1M loans at 200 a block would be 5,000 transactions to send and mine one by one (minutes
 * before the engine even starts); at 2,000 they are 500 blocks (14 M gas each, under Anvil's 30 M limit).
 */
const floodBlockLogs = { quick: 1_000, full: 200 }
const bulkBlockLogs = 2_000
const bulkFrom = 100_000
/** Loan counts measured: quick stops at 100k, the full run goes on to 1M (the growth target's last point). */
const defaultCounts = { quick: [1_000, 10_000, 100_000], full: [1_000, 10_000, 100_000, 1_000_000] }
const liveBlock =
  'one tx: InstallmentPaid for 2 loans (one re-armed far ahead, one whose warnAt is the next block) → ' +
  '8 timers set, 2 unlockOnPayment runs; plus the warnOnMissedDueDate timer armed by the previous block ' +
  'falling due → 1 run, 1 timer cleared'

/**
 * Runs one engine per loan count, each in its own process, against a bench-only LoanFlood contract that
 * emits CarLoan's `LoanOpened`/`InstallmentPaid` in bulk, watched by the real car-loan functions (one
 * deadline timer per loan per deadline function: 4 per loan).
 *
 * For each count the child engine first processes one block and is stopped (a stored cursor); then the
 * parent opens that many loans, `logsPerFloodBlock` LoanOpened per block ("downtime"), and the engine is
 * started again at its cursor: **catch-up** is the time from `engine.start()` to the engine's `block`
 * event for the head, for all those logs (`logs/s = loans / seconds`). Then the parent mines live blocks
 * one at a time (each waits for the previous to be processed and its runs finished): **CPU per block** is
 * the child's `process.cpuUsage()` (user + system, including isolate threads and the engine's timers while
 * it waits) over those blocks, divided by their number; **RSS** is `process.memoryUsage().rss` after them
 * and two full GCs.
 *
 * @example
 * const result = await measureGrowth({ quick: true, log })
 */
export async function measureGrowth(options: GrowthOptions): Promise<GrowthResult> {
  const started = performance.now()
  const counts = options.counts ?? (options.quick ? defaultCounts.quick : defaultCounts.full)
  const liveBlocks = options.quick ? 20 : 100
  const smallFloodBlock = options.quick ? floodBlockLogs.quick : floodBlockLogs.full
  const floodBlock = (loans: number) => (loans > bulkFrom ? bulkBlockLogs : smallFloodBlock)
  const logsPerFloodBlock = floodBlock(Math.max(...counts))
  const { log } = options
  const compiled = await compileLoanFlood()
  const anvil = await startAnvil()
  const broker = await startEmbeddedBroker()
  const dir = mkdtempSync(join(tmpdir(), 'pbj-growth-'))
  const runs: GrowthRun[] = []
  try {
    for (const loans of counts) {
      const flood = await deployLoanFlood(anvil.rpcUrl, compiled)
      const start = await flood.head()
      const child = spawnGrowthChild(
        {
          rpcUrls: [anvil.wsUrl, anvil.rpcUrl],
          brokerUrl: broker.url,
          brokerLogin: broker.engineLogin,
          floodAddress: flood.address,
          database: join(dir, `growth-${loans}.db`),
          functionsDir,
          startBlock: Number(start.number),
        },
        { warn: (message) => log(`  growth ${loans}: ${message}`) },
        options.childExecArgv,
      )
      try {
        await child.next('primed')
        // Deadlines far beyond every block of the run: opening loans arms timers, none falls due.
        const far = farTimes(start.timestamp)
        const floodStarted = performance.now()
        const perBlock = floodBlock(loans)
        const every = loans > bulkFrom ? 200_000 : 20_000
        for (let first = 1; first <= loans; first += perBlock) {
          await flood.open(BigInt(first), Math.min(perBlock, loans - first + 1), far)
          if ((first - 1) % every === 0 && first > 1) log(`  growth ${loans}: ${first - 1} loans opened…`)
        }
        const head = await flood.head()
        log(
          `  growth ${loans}: ${loans} loans opened in ${head.number - start.number} blocks (${seconds(floodStarted)} s); engine catching up…`,
        )
        const anvilBefore = processCpuUs(anvil.pid)
        child.send({ type: 'catchUp', head: String(head.number) })
        const caughtUp = await child.next('caughtUp')
        const anvilAfter = processCpuUs(anvil.pid)
        const catchup = {
          logs: loans,
          blocks: caughtUp.blocks,
          seconds: round(caughtUp.seconds, 3),
          cpuSeconds: round(caughtUp.cpuMs / 1000, 3),
          anvilCpuSeconds:
            anvilBefore === undefined || anvilAfter === undefined
              ? null
              : round((anvilAfter - anvilBefore) / 1e6, 3),
          logsPerSec: Math.round(loans / caughtUp.seconds),
        }
        log(
          `  growth ${loans}: caught up in ${catchup.seconds} s (${catchup.logsPerSec} logs/s; CPU: engine ${catchup.cpuSeconds} s, Anvil ${catchup.anvilCpuSeconds} s); live blocks…`,
        )
        child.send({ type: 'measure' })
        await child.next('measuring')
        const wall = await mineLiveBlocks(flood, loans, liveBlocks, async (number) => {
          const processed = await child.next('processed', 30_000)
          if (BigInt(processed.number) !== number)
            throw new Error(`growth ${loans}: engine processed ${processed.number}, expected ${number}`)
        })
        child.send({ type: 'report' })
        const { report } = await child.next('report')
        // It stops its engine and exits by itself (writing its CPU profile, when asked for one).
        await child.exited(10_000)
        log(
          `  growth ${loans}: ${report.cpuPerBlockMs} ms CPU/block, RSS ${report.rssMb} MB, ${report.timers} timers`,
        )
        runs.push({ loans, catchup, live: { ...report, wallPerBlockMs: summarize(wall) } })
      } finally {
        child.kill()
      }
    }
  } finally {
    await Promise.allSettled([anvil.stop(), broker.close()])
    rmSync(dir, { recursive: true, force: true })
  }
  const largest = runs.reduce((a, b) => (b.loans > a.loans ? b : a))
  return {
    cpuPerBlockMs: Object.fromEntries(runs.map((r) => [String(r.loans), r.live.cpuPerBlockMs])),
    rssMb: Object.fromEntries(runs.map((r) => [String(r.loans), r.live.rssMb])),
    catchupLogsPerSec: largest.catchup.logsPerSec,
    catchup: { logs: largest.catchup.logs, blocks: largest.catchup.blocks, seconds: largest.catchup.seconds },
    details: { runs, logsPerFloodBlock, liveBlocks, liveBlock, seconds: seconds(started) },
  }
}

/**
 * Mines `count` live blocks one at a time (see `liveBlock`), waiting after each until `processed` says the
 * engine is done with it; returns the wall time of each, from sending its transaction.
 */
async function mineLiveBlocks(
  flood: LoanFlood,
  loans: number,
  count: number,
  processed: (number: bigint) => Promise<void>,
): Promise<number[]> {
  const wall: number[] = []
  let head = await flood.head()
  const far = farTimes(head.timestamp)
  for (let i = 0; i < count; i++) {
    // Spread over the whole range of loans, so the timers touched are not all in one corner of the index.
    const rearmed = BigInt(1 + ((i * 7919) % loans))
    const due = BigInt(1 + ((i * 104_729 + 1) % loans))
    const sent = performance.now()
    // With the 1 s timestamp interval this block is head + 1 s; warnAt head + 2 s falls due in the next one.
    await flood.pay([rearmed, due], [far.warnAt, head.timestamp + 2n], far)
    head = { number: head.number + 1n, timestamp: head.timestamp + 1n }
    await processed(head.number)
    wall.push(performance.now() - sent)
  }
  return wall
}

const farTimes = (now: bigint): LoanTimes => ({
  nextDueAt: now + 30n * day,
  warnAt: now + 30n * day + 1n,
  finalWarningAt: now + 35n * day,
  lockAt: now + 37n * day,
})

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits
const seconds = (since: number) => round((performance.now() - since) / 1000, 1)

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick')
  const countsArg = process.argv.find((a) => a.startsWith('--counts='))
  const profArg = process.argv.find((a) => a.startsWith('--cpu-prof-dir='))
  const result = await measureGrowth({
    quick,
    log: stderrLog,
    ...(countsArg ? { counts: countsArg.slice('--counts='.length).split(',').map(Number) } : {}),
    ...(profArg ? { childExecArgv: ['--cpu-prof', profArg] } : {}),
  })
  process.stdout.write(`${JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`)
}
