import { encodeAbiParameters, type Hex, keccak256 } from 'viem'
import type { UsageRow } from '../core/usage.js'

/**
 * The `usageRoot` a settlement commits to: keccak256 of the ABI-encoded list of leaves, each leaf
 * keccak256(abi.encode(uint64 seq, string runId, uint256 amount)), in seq order. Anyone holding pbj's run
 * history (`pbj usage --json`) recomputes it and compares it with the `Settled` event.
 *
 * @example
 * const root = usageRoot(await store.usage.list())
 */
export function usageRoot(rows: readonly Pick<UsageRow, 'seq' | 'runId' | 'amount'>[]): Hex {
  const leaves = rows.map((r) =>
    keccak256(
      encodeAbiParameters(
        [{ type: 'uint64' }, { type: 'string' }, { type: 'uint256' }],
        [BigInt(r.seq), r.runId, r.amount],
      ),
    ),
  )
  return keccak256(encodeAbiParameters([{ type: 'bytes32[]' }], [leaves]))
}
