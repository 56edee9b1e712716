import type { Cursor } from './block.js'
import type { NewJob } from './job.js'
import type { Timer } from './timer.js'

/** Everything one block changes; committed in one transaction with the cursor. */
export type BlockWrite = {
  block: Cursor
  jobs: NewJob[]
  timersSet: Timer[]
  timersCleared: string[]
  conditions: { id: string; value: boolean }[]
  /**
   * False for a block deeper than the reorg window below the head (catch-up): no reorg pbj follows can roll
   * it back, so the store keeps no undo record of it (reading every timer it touches first cost a quarter of
   * a catch-up's commits), nor its hash, so a reorg reaching it is a deep one (findCommonAncestor stops at
   * the first height without a hash). Default true.
   */
  undo?: boolean
}
