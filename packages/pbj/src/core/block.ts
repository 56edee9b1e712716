import type { Hex } from 'viem'

/** The last block whose jobs are durably written. */
export type Cursor = { number: bigint; hash: Hex; parentHash: Hex; timestamp: bigint }

/**
 * The parts of a block header the pipeline uses. `logsBloom` (when the node sends it) lets catch-up check
 * that a range's logs left no block out.
 */
export type BlockHeader = { number: bigint; hash: Hex; parentHash: Hex; timestamp: bigint; logsBloom?: Hex }
