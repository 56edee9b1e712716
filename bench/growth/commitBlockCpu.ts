/**
 * CPU per timer row of the store's commitBlock as a catch-up drives it: blocks of `--per-block` (default
 * 1,000) loan events, each setting four timers (one per car-loan deadline function), with an undo record
 * (blocks inside the reorg window) or without (`--settled`). The store is a real SQLite file (WAL), opened
 * as the engine opens it. Prints µs of CPU per timer row, per block and per commit (median of `--rounds`).
 *
 * @example
 * node --no-node-snapshot --import tsx bench/growth/commitBlockCpu.ts --blocks=100 --per-block=1000
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Timer } from '#pbj/core/timer.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'

const arg = (name: string, fallback: number) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`))
  return found ? Number(found.slice(name.length + 3)) : fallback
}
const blocks = arg('blocks', 100)
const perBlock = arg('per-block', 1_000)
const rounds = arg('rounds', 3)
const settled = process.argv.includes('--settled')
const functions = ['lockOnMissedPayment', 'warnOnMissedDueDate', 'finalWarningBeforeLock', 'autopayWhenDue']

const results: number[] = []
for (let round = 0; round < rounds; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'pbj-commit-'))
  const store = createSqliteStore({ path: join(dir, 'pbj.db'), engine: true })
  let cpuUs = 0
  let loan = 1
  for (let n = 1n; n <= BigInt(blocks); n++) {
    const timersSet: Timer[] = []
    for (let i = 0; i < perBlock; i++, loan++)
      for (const [k, functionName] of functions.entries())
        timersSet.push({
          id: `${functionName}:${loan}`,
          functionName,
          key: String(loan),
          at: 2_000_000_000n + BigInt(k),
        })
    const hash = `0x${n.toString(16).padStart(64, '0')}` as const
    const parentHash = `0x${(n - 1n).toString(16).padStart(64, '0')}` as const
    const before = process.cpuUsage()
    await store.commitBlock(31337, {
      block: { number: n, hash, parentHash, timestamp: n },
      jobs: [],
      timersSet,
      timersCleared: [],
      conditions: [],
      ...(settled ? { undo: false } : {}),
    })
    const used = process.cpuUsage(before)
    cpuUs += used.user + used.system
  }
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  results.push(cpuUs / (blocks * perBlock * functions.length))
}
results.sort((a, b) => a - b)
const median = results[Math.floor(results.length / 2)] as number
process.stdout.write(
  `${JSON.stringify({ settled, blocks, perBlock, cpuUsPerTimerRow: Math.round(median * 100) / 100, all: results.map((r) => Math.round(r * 100) / 100) })}\n`,
)
