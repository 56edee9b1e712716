/** How sure the chain must be about a block before the function runs. Only `instant` is implemented today. */
export type Confirmation = 'instant' | { confirmations: number } | 'finalized'
