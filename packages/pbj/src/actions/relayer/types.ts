import type { Address, Hex } from 'viem'
import type { Confirmation } from '../../core/confirmation.js'
import type { RelayedTxStatus } from '../../core/relayedTx.js'

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
