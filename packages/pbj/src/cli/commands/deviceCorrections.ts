import type { DeviceCorrection } from '../../core/deviceCorrection.js'
import type { Store } from '../../core/store.js'
import { toJsonLine } from '../../internal/toJsonLine.js'

const widths = [24, 42, 10, 11, 26, 10]
const row = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`
const header = row(['at', 'device', 'block', 'reason', 'change', 'outcome', 'detail'])

/**
 * `pbj devices --corrections`: what chain-level reconciliation found and did, oldest first (the newest
 * `limit`): when, which device, at which head block, why the pass ran, the change (stored meaning → the
 * chain's), and whether it went out (with its version), was refused by the guard, or failed (and why).
 *
 * @example
 * await printCorrections(store, { json: false, limit: 100 })
 * // at                        device                                      block  reason  change  outcome …
 * // 2026-12-06T01:02:03.000Z  0x70997970c51812dc3a010c7d01b50e0d17dc79c8  42     start   unlocked → locked  corrected v5
 */
export async function printCorrections(
  store: Pick<Store, 'deviceCorrections'>,
  o: { json: boolean; limit?: number | undefined },
): Promise<number> {
  const corrections = await store.deviceCorrections.list({ limit: o.limit ?? 100 })
  if (o.json) {
    for (const c of corrections) process.stdout.write(toJsonLine(c))
    return 0
  }
  if (corrections.length === 0) {
    process.stdout.write('(no corrections: reconciliation has found every device as the chain says)\n')
    return 0
  }
  process.stdout.write(header)
  for (const c of corrections) process.stdout.write(formatCorrection(c))
  return 0
}

const formatCorrection = (c: DeviceCorrection) => {
  const cells = [
    new Date(c.at).toISOString(),
    c.deviceId,
    String(c.blockNumber),
    c.reason,
    `${c.from} → ${c.to}`,
    c.outcome === 'corrected' ? `corrected v${c.version}` : c.outcome,
    c.detail ?? '',
  ]
  return `${row(cells).trimEnd()}\n`
}
