/**
 * How sure the chain must be about a block before the function runs. `instant` (the default) runs it at
 * once; if the block is then reorged out, a run that started gets the function's `onReorg`. `{ confirmations:
 * n }` waits until the block is n blocks deep and `finalized` until the node reports it finalized: the run
 * waits in the store and is dropped, never run, if its block is reorged out first. Transactions the run sends
 * are followed with the same setting.
 */
export type Confirmation = 'instant' | { confirmations: number } | 'finalized'
