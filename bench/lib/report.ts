import { log, type Stats } from './stats.js'

type MoveLatency = { head: Stats; functionStarted: Stats; atBroker: Stats; acked: Stats }
type FleetMove = {
  functionStarted: Stats
  atBroker: Stats
  acked: Stats
  allAtBrokerMs: number
  allAckedMs: number
}
type Baseline =
  | {
      single: { p50Ms: number; p99Ms: number; handlerStartedMs: Stats; atBrokerMs: Stats; ackedMs: Stats }
      samples: number
      notes: string
    }
  | { skipped: string }

/** The figures the report reads; every section may be missing (not run, or failed). */
export type BenchSummary = {
  single?:
    | {
        p50Ms: number
        p99Ms: number
        lock: MoveLatency
        unlock: MoveLatency
        cpuPerLockUs?: { engine: number; car: number | null; mineOverheadUs: number }
      }
    | undefined
  fleet?:
    | { cars: number; atBrokerMs: number; ackedMs: number; lock: FleetMove[]; unlock: FleetMove[] }
    | undefined
  runsPerSec?: number | undefined
  sandboxRunsPerSec?: number | undefined
  signedCommandsPerSec?: number | undefined
  cpuPerBlockMs?: Record<string, number> | undefined
  rssMb?: Record<string, number> | undefined
  catchupLogsPerSec?: number | undefined
  baselines?: Record<string, Baseline> | undefined
  failures: Record<string, string>
  seconds: number
}

const fmt = (x: number | undefined, digits = 2) =>
  x === undefined || Number.isNaN(x)
    ? '—'
    : x >= 1000
      ? Math.round(x).toLocaleString('en-US')
      : x.toFixed(digits)

/**
 * The targets, each with the figure measured and whether it was met, and pbj / baseline ratios on
 * the same workload (a reload's InstallmentPaid → unlock command → the car's acknowledgement).
 *
 * @example
 * const { targets, ratios } = targetsOf(summary)
 */
export function targetsOf(s: BenchSummary) {
  const counts = Object.keys(s.cpuPerBlockMs ?? {}).sort((a, b) => Number(a) - Number(b))
  const cpuFirst = s.cpuPerBlockMs?.[counts[0] ?? '']
  const cpuLast = s.cpuPerBlockMs?.[counts[counts.length - 1] ?? '']
  const target = (value: number | undefined, goal: string, met: (v: number) => boolean) => ({
    value: value ?? null,
    goal,
    met: value === undefined || Number.isNaN(value) ? null : met(value),
  })
  // The one-car targets are ratios to the peers on the same Anvil and broker in the same run; pbj's
  // figure is the slower of its lock (a deadline) and its unlock (the baselines' own event).
  const pbjP50 = s.single ? Math.max(s.single.lock.acked.p50, s.single.unlock.acked.p50) : undefined
  const pbjP99 = s.single ? Math.max(s.single.lock.acked.p99, s.single.unlock.acked.p99) : undefined
  const peer = (name: string) => {
    const b = s.baselines?.[name]
    return b && !('skipped' in b) ? b.single : undefined
  }
  const script = peer('viem-ws')
  const ponder = peer('ponder')
  const over = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : round(a / b)
  const targets = {
    singleP50VsScript: target(
      over(pbjP50, script?.p50Ms),
      '≤ 1.5 × viem-ws script (goal ≤ 1.0)',
      (v) => v <= 1.5,
    ),
    singleP50VsPonder: target(over(pbjP50, ponder?.p50Ms), '≤ 0.5 × Ponder', (v) => v <= 0.5),
    singleP99VsScript: target(over(pbjP99, script?.p99Ms), '≤ 2 × viem-ws script p99', (v) => v <= 2),
    fleetAtBroker: target(s.fleet?.atBrokerMs, '≤ 100 ms', (v) => v <= 100),
    fleetAcked: target(s.fleet?.ackedMs, '≤ 1,000 ms', (v) => v <= 1000),
    runsPerSec: target(s.runsPerSec, '≥ 20,000', (v) => v >= 20_000),
    cpuPerBlockGrowth: target(
      cpuFirst !== undefined && cpuLast !== undefined ? cpuLast / cpuFirst : undefined,
      `flat from ${counts[0] ?? '?'} to ${counts[counts.length - 1] ?? '?'} loans (ratio ≤ 1.5)`,
      (v) => v <= 1.5,
    ),
    rss1M: target(s.rssMb?.['1000000'], '≤ 1,024 MB with 1M loans', (v) => v <= 1024),
    catchup: target(s.catchupLogsPerSec, '≥ 100,000 logs/s', (v) => v >= 100_000),
  }
  const ratios: Record<string, { unlockP50: number | null; lockP50: number | null }> = {}
  for (const [name, b] of Object.entries(s.baselines ?? {})) {
    if ('skipped' in b) continue
    const base = b.single.p50Ms
    ratios[name] = {
      unlockP50: s.single ? round(s.single.unlock.acked.p50 / base) : null,
      lockP50: s.single ? round(s.single.lock.acked.p50 / base) : null,
    }
  }
  return { targets, ratios }
}

const round = (x: number) => Math.round(x * 1000) / 1000

/**
 * Prints the figures as a table on stderr.
 *
 * @example
 * printTable({ ...summary, ...targetsOf(summary) })
 */
export function printTable(s: BenchSummary & ReturnType<typeof targetsOf>) {
  const rows: string[][] = [['figure', 'p50', 'p95', 'p99', 'max', 'n']]
  const stats = (name: string, x: Stats | undefined) =>
    x && rows.push([name, fmt(x.p50), fmt(x.p95), fmt(x.p99), fmt(x.max), String(x.n)])
  for (const move of ['lock', 'unlock'] as const) {
    const m = s.single?.[move]
    if (!m) continue
    stats(`1 car ${move}: head at pbj (ms)`, m.head)
    stats(`1 car ${move}: function started`, m.functionStarted)
    stats(`1 car ${move}: command at broker`, m.atBroker)
    stats(`1 car ${move}: car acknowledged`, m.acked)
  }
  for (const [move, list] of [
    ['lock', s.fleet?.lock],
    ['unlock', s.fleet?.unlock],
  ] as const) {
    list?.forEach((m, i) => {
      stats(`${s.fleet?.cars} cars ${move} #${i + 1}: function started`, m.functionStarted)
      stats(`${s.fleet?.cars} cars ${move} #${i + 1}: at broker`, m.atBroker)
      stats(`${s.fleet?.cars} cars ${move} #${i + 1}: acknowledged`, m.acked)
    })
  }
  for (const [name, b] of Object.entries(s.baselines ?? {})) {
    if ('skipped' in b) {
      rows.push([`baseline ${name}`, `skipped: ${b.skipped}`, '', '', '', ''])
      continue
    }
    stats(`baseline ${name}: handler started`, b.single.handlerStartedMs)
    stats(`baseline ${name}: at car (broker)`, b.single.atBrokerMs)
    stats(`baseline ${name}: car acknowledged`, b.single.ackedMs)
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? []
  log('\nlatency, ms from the moment the block was mined (evm_mine sent)')
  for (const r of rows)
    log(
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '),
    )
  log('\nthroughput and growth')
  log(
    `  warm runs/s (engine path)     ${fmt(s.runsPerSec, 0)}   sandbox alone ${fmt(s.sandboxRunsPerSec, 0)}`,
  )
  log(`  signed commands/s             ${fmt(s.signedCommandsPerSec, 0)}`)
  for (const [count, ms] of Object.entries(s.cpuPerBlockMs ?? {}))
    log(
      `  ${Number(count).toLocaleString('en-US').padStart(7)} loans: CPU/block ${fmt(ms, 3)} ms, RSS ${fmt(s.rssMb?.[count], 0)} MB`,
    )
  log(`  catch-up                      ${fmt(s.catchupLogsPerSec, 0)} logs/s`)
  const cpu = s.single?.cpuPerLockUs
  if (cpu)
    log(
      `  CPU per lock, engine          ${fmt(cpu.engine, 0)} µs (of which mining a block: ${fmt(cpu.mineOverheadUs, 0)} µs); car ${fmt(cpu.car ?? undefined, 0)} µs`,
    )
  log('\npbj / baseline (p50, block → acknowledged; < 1 means pbj is faster)')
  for (const [name, r] of Object.entries(s.ratios))
    log(
      `  ${name.padEnd(12)} unlock ${fmt(r.unlockP50 ?? undefined, 3)}   lock ${fmt(r.lockP50 ?? undefined, 3)}`,
    )
  log('\ntargets')
  for (const [name, t] of Object.entries(s.targets))
    log(
      `  ${t.met === null ? '·' : t.met ? '✓' : '✗'} ${name.padEnd(18)} ${fmt(t.value ?? undefined)}  (${t.goal})`,
    )
  for (const [name, why] of Object.entries(s.failures)) log(`  ✗ section ${name} failed: ${why}`)
  log(`\n${s.seconds} s`)
}
