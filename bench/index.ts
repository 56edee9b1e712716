// `npm run bench [-- --quick] [--only single,fleet,baselines,signing,runs,growth] [--out file.json]`
//
// Starts Anvil, a broker and pbj, and measures block → car latency (one car, and 1,000 cars in one
// block), throughput (warm runs/s, signed commands/s), cost growth with the number of loans watched, and
// catch-up, with the baselines users would build instead measured in the same run on the same Anvil and
// broker. Progress and the table go to stderr; the last line of stdout is the JSON of every figure.
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { secp256k1Backend } from '@pbj/device'
import { startDemoStack } from '#pbj/demo/startDemoStack.js'
import { measureBaselines } from './baselines/measureBaselines.js'
import { measureGrowth } from './growth/measureGrowth.js'
import { printTable, targetsOf } from './lib/report.js'
import { log } from './lib/stats.js'
import { type FleetResult, measureFleet } from './pbj/measureFleet.js'
import { measureSigning } from './pbj/measureSigning.js'
import { measureSingle, type SingleResult } from './pbj/measureSingle.js'
import { measureRuns } from './runs/measureRuns.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const option = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const only = option('only')?.split(',')
const wanted = (section: string) => !only || only.includes(section)
const startedAt = performance.now()
const failures: Record<string, string> = {}

/** Runs one section; a failure is reported and recorded, and the others still run. */
async function section<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) return undefined
  const t = performance.now()
  log(`\n▶ ${name}`)
  try {
    const value = await run()
    log(`  ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    return value
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    failures[name] = message.split('\n')[0] ?? message
    log(`  ${name} FAILED: ${message}`)
    return undefined
  }
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  date: new Date().toISOString(),
}
log(`pbj benchmarks (${quick ? 'quick' : 'full'}) on ${machine.cpus} × ${machine.cpuModel}, ${machine.node}`)

// Latency and baselines share one Anvil and one broker, as the issue asks; each runs alone on them.
let single: SingleResult | undefined
let fleet: FleetResult | undefined
let baselines: Awaited<ReturnType<typeof measureBaselines>> | undefined
if (wanted('single') || wanted('fleet') || wanted('baselines')) {
  log('starting Anvil, the embedded broker and the demo contracts…')
  const stack = await startDemoStack({ cars: 0 })
  // The baselines stand in for the engine on the embedded broker (its ACL lets only the engine publish
  // commands): they, and the child processes they run in, log in with its login.
  if (stack.brokerLogin) process.env.PBJ_BENCH_BROKER_LOGIN = JSON.stringify(stack.brokerLogin)
  try {
    single = await section('single', () => measureSingle(stack, { cycles: quick ? 20 : 200, warmup: 3, log }))
    // Before the fleet, whose thousand loans and big blocks leave Anvil slower for what comes after.
    baselines = await section('baselines', () => measureBaselines(stack, { quick, log }))
    fleet = await section('fleet', () =>
      measureFleet(stack, { cars: 1_000, rounds: quick ? 1 : 3, unlock: !quick, log }),
    )
  } finally {
    await stack.stop()
  }
}
const signing = await section('signing', async () => measureSigning({ batch: 1_000, seconds: quick ? 1 : 3 }))
const runs = await section('runs', () => measureRuns({ quick, log }))
const growth = await section('growth', () => measureGrowth({ quick, log }))

const summary = {
  quick,
  machine: { ...machine, secp256k1: secp256k1Backend() },
  single,
  fleet,
  runsPerSec: runs?.runsPerSec,
  sandboxRunsPerSec: runs?.sandboxRunsPerSec,
  runs,
  signedCommandsPerSec: signing?.signedCommandsPerSec,
  cpuPerBlockMs: growth?.cpuPerBlockMs,
  rssMb: growth?.rssMb,
  catchupLogsPerSec: growth?.catchupLogsPerSec,
  engine: { cpuPerLockUs: single?.cpuPerLockUs.engine, cpuPerLock: single?.cpuPerLockUs },
  growth,
  baselines,
  failures,
  seconds: Math.round((performance.now() - startedAt) / 100) / 10,
}
const withTargets = { ...summary, ...targetsOf(summary) }
printTable(withTargets)
const out = option('out')
if (out) writeFileSync(out, `${JSON.stringify(withTargets, null, 2)}\n`)
process.stdout.write(`${JSON.stringify(withTargets)}\n`)
process.exitCode = Object.keys(failures).length > 0 ? 1 : 0
