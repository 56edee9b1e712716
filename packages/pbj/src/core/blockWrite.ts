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
}
