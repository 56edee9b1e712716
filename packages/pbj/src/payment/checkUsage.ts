import type { Hex } from 'viem'
import { usageRoot } from './usageRoot.js'

/** What `pbj usage` checks: on-chain settlements against the metered rows they claim to charge. */
export type UsageCheck = {
  metered: bigint
  settledRows: bigint
  settledOnChain: bigint
  batches: { batchId: bigint; fromRun: bigint; toRun: bigint; amount: bigint; rootMatches: boolean }[]
  ok: boolean
}

/**
 * Compares `Settled` events with metered rows: each batch's amount and root against the rows in its run
 * range, and the totals, to the unit.
 *
 * @example
 * checkUsage(await store.usage.list(), settledEventArgs).ok // true when chain and pbj agree
 */
export function checkUsage(
  rows: readonly { seq: number; runId: string; amount: bigint; settlement: string | null }[],
  events: readonly { batchId: bigint; amount: bigint; usageRoot: Hex; fromRun: bigint; toRun: bigint }[],
): UsageCheck {
  const batches = events.map((e) => {
    const covered = rows.filter((r) => BigInt(r.seq) >= e.fromRun && BigInt(r.seq) <= e.toRun)
    const sum = covered.reduce((s, r) => s + r.amount, 0n)
    return {
      batchId: e.batchId,
      fromRun: e.fromRun,
      toRun: e.toRun,
      amount: e.amount,
      rootMatches: usageRoot(covered) === e.usageRoot && sum === e.amount,
    }
  })
  const metered = rows.reduce((s, r) => s + r.amount, 0n)
  const settledRows = rows.filter((r) => r.settlement !== null).reduce((s, r) => s + r.amount, 0n)
  const settledOnChain = events.reduce((s, e) => s + e.amount, 0n)
  return {
    metered,
    settledRows,
    settledOnChain,
    batches,
    ok: settledOnChain === settledRows && batches.every((b) => b.rootMatches),
  }
}
