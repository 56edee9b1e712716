import type { Hex } from 'viem'

/** What one finished run used, and what it costs. */
export type UsageRow = {
  /** Position in the project's usage history (1, 2, …): the `fromRun`/`toRun` of settlements. */
  seq: number
  runId: string
  jobId: string
  functionName: string
  durationMs: number
  deviceMessages: number
  /** Wei the run's relayed transactions paid (or may pay, when not yet mined: gas limit × max fee). */
  gasWei: bigint
  /** The run's cost in token units. */
  amount: bigint
  at: number
  /** Idempotency key of the settlement that charged it; null while unsettled. */
  settlement: string | null
}

/** A batch of usage rows sent to `ExecutionBalance.settle`. */
export type Settlement = {
  /** The relayer's idempotency key: `settle:<projectId>:<fromSeq>-<toSeq>`. */
  key: string
  projectId: Hex
  fromSeq: number
  toSeq: number
  amount: bigint
  usageRoot: Hex
  at: number
  /** When its transaction was mined and the rows marked settled; null while in flight. */
  minedAt: number | null
}

/** Durable usage rows and settlements (`usage` and `settlements` in SQLite). */
export type UsageStore = {
  /** Records a run's usage; idempotent by run id (a second call returns the first row). */
  record(row: Omit<UsageRow, 'seq' | 'settlement'>): Promise<UsageRow>
  /** Unsettled rows, by seq. */
  unsettled(limit?: number): Promise<UsageRow[]>
  /** Rows by seq (all, or from `afterSeq`), at most `limit`. */
  list(filter?: { afterSeq?: number; limit?: number }): Promise<UsageRow[]>
  /**
   * Records a settlement before its transaction is sent, so a crash re-sends the same one (same key). Its
   * rows stay unsettled until `markSettled`.
   */
  addSettlement(settlement: Omit<Settlement, 'minedAt'>): Promise<void>
  /** The settlement's transaction succeeded: marks its rows settled with its key, atomically. */
  markSettled(key: string, at: number): Promise<void>
  /** Forgets a settlement whose transaction reverted, so its rows go into the next one. */
  dropSettlement(key: string): Promise<void>
  settlements(): Promise<Settlement[]>
}
