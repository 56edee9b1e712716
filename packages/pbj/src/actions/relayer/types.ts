import type { Address, Hex } from 'viem'
import type { Confirmation } from '../../function/triggers.js'

/**
 * Where a relayed transaction is:
 * - `signed`: recorded with its nonce and signed bytes; no node has accepted it yet (never sent, refused
 *   for now, or forgotten by the node). The tracker (re)broadcasts it.
 * - `pending`: a node accepted it; waiting to be mined (replaced with bumped fees if it is stuck).
 * - `mined`: it has a receipt; waiting for its confirmation mode.
 * - `confirmed`: its confirmation mode is reached (`final` says whether it is still watched for reorgs).
 * - `failed`: no node will ever take it (a permanent refusal), or a gap filler whose nonce was used by
 *   another transaction. Its nonce is free again.
 */
export type RelayedTxStatus = 'signed' | 'pending' | 'mined' | 'confirmed' | 'failed'

/** What a mined transaction's receipt says, as kept with the record. */
export type RelayedReceipt = {
  transactionHash: Hex
  blockNumber: bigint
  blockHash: Hex
  status: 'success' | 'reverted'
  gasUsed: bigint
  effectiveGasPrice: bigint
}

/**
 * One intent to send a transaction, keyed by its idempotency key, with its current signed attempt. A
 * record's nonce changes only when another transaction provably used it (then the intent is re-signed with
 * a fresh nonce); its hash changes with every replacement (bumped fees, same nonce).
 */
export type RelayedTx = {
  key: string
  /** `intent`: a caller's transaction; `filler`: a 0-value self-transfer that closes a nonce gap. */
  kind: 'intent' | 'filler'
  chainId: number
  sender: Address
  nonce: number
  to: Address
  data: Hex
  value: bigint
  gas: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  /** Hash and signed bytes of the current attempt. */
  hash: Hex
  raw: Hex
  status: RelayedTxStatus
  confirmation: Confirmation
  /** Signed attempts so far (replacements and re-signs count). */
  attempts: number
  createdAt: number
  /** When a node first accepted the current attempt (ms), and the head then (for stuck detection). */
  sentAt: number | null
  sentBlock: bigint | null
  minedAt: number | null
  receipt: RelayedReceipt | null
  /** No longer watched: confirmed past reorg reach, or failed. */
  final: boolean
  error: string | null
}

/** One signed attempt of a record; every hash an intent was ever signed under, to find which one mined. */
export type RelayedTxAttempt = {
  hash: Hex
  key: string
  nonce: number
  raw: Hex
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  createdAt: number
}

/**
 * Fields of a record that change after it is created. `hash`, `raw` and the fees move back to an earlier
 * attempt when that one is the attempt mined.
 */
export type RelayedTxUpdate = Partial<
  Pick<
    RelayedTx,
    | 'status'
    | 'hash'
    | 'raw'
    | 'maxFeePerGas'
    | 'maxPriorityFeePerGas'
    | 'sentAt'
    | 'sentBlock'
    | 'minedAt'
    | 'receipt'
    | 'final'
    | 'error'
  >
>

/**
 * Durable records of relayed transactions (`relayed_txs` and `relayed_tx_attempts` in SQLite). A record
 * is written before its transaction is broadcast, so a crash between signing and sending re-broadcasts
 * the same bytes, and a retried run finds its transaction by key.
 */
export type RelayedTxStore = {
  get(key: string): Promise<RelayedTx | null>
  /**
   * Records a new intent with its first signed attempt, atomically. Idempotent by key: if the key is
   * already recorded, the existing record is returned and nothing is written.
   */
  insert(tx: RelayedTx): Promise<RelayedTx>
  /**
   * Records a new signed attempt (a replacement with bumped fees, or a re-sign with a fresh nonce) and
   * makes it the record's current one, atomically.
   */
  addAttempt(
    key: string,
    attempt: Omit<RelayedTxAttempt, 'key'>,
    fields?: RelayedTxUpdate,
  ): Promise<RelayedTx>
  update(key: string, fields: RelayedTxUpdate): Promise<void>
  attempts(key: string): Promise<RelayedTxAttempt[]>
  /** Records still followed (not final, not failed) of one sender, by nonce. */
  open(chainId: number, sender: Address): Promise<RelayedTx[]>
  /** Records of a sender (or all), newest first, optionally by status. */
  list(filter?: {
    chainId?: number
    sender?: Address
    status?: RelayedTxStatus[]
    limit?: number
  }): Promise<RelayedTx[]>
}

/** A transaction to relay. */
export type SendRequest = {
  /**
   * Names the intent: the same key always yields the same transaction. Derive it from what caused the
   * send (`${job.id}:w${n}` for ctx.chain.write), never from a clock or a random number.
   */
  idempotencyKey: string
  to: Address
  data?: Hex
  value?: bigint
  /** Gas limit; estimated (plus a margin) when omitted. */
  gas?: bigint
  /** How far the receipt is followed; default 'instant'. */
  confirmation?: Confirmation
}

/** What `send` tells the caller. `txHash` is the current attempt: a replacement later changes it. */
export type SendResult = {
  key: string
  txHash: Hex
  nonce: number
  status: RelayedTxStatus
}

/** What a relayer tells its listeners. */
export type RelayerEvents = {
  /** A node accepted an attempt (first send, re-broadcast or replacement). */
  'tx:sent': { key: string; hash: Hex; nonce: number; attempt: number; rebroadcast: boolean }
  'tx:replaced': {
    key: string
    hash: Hex
    previousHash: Hex
    nonce: number
    maxFeePerGas: bigint
    maxPriorityFeePerGas: bigint
  }
  /** Another transaction used the record's nonce; the intent was re-signed with `nonce`. */
  'tx:renonced': { key: string; hash: Hex; previousNonce: number; nonce: number }
  'tx:mined': { key: string; hash: Hex; nonce: number; blockNumber: bigint; status: 'success' | 'reverted' }
  'tx:confirmed': { key: string; hash: Hex; nonce: number; blockNumber: bigint }
  /** Its block was reorged out; it is pending again and will be re-broadcast. */
  'tx:reorged': { key: string; hash: Hex; nonce: number; blockNumber: bigint }
  'tx:failed': { key: string; nonce: number; error: string }
  /** A gap at `nonce` was closed with a 0-value self-transfer. */
  'tx:filler': { key: string; hash: Hex; nonce: number }
  error: unknown
}
