import { type Address, type Hex, keccak256, type LocalAccount } from 'viem'
import type { RelayedTx, RelayedTxStore } from '../../core/relayedTx.js'
import type { Emitter } from '../../internal/createEmitter.js'
import type { Logger } from '../../internal/logger.js'
import type { Fees } from './bumpFees.js'
import type { NonceManager } from './createNonceManager.js'
import type { RelayerRpc } from './createRelayerRpc.js'
import { RelayerAccountError } from './relayerErrors.js'
import type { RelayerEvents } from './types.js'

/** The relayer's shared state, passed to its broadcast and tracking steps. */
export type RelayerContext = {
  chainId: number
  account: LocalAccount
  sender: Address
  rpc: RelayerRpc
  txs: RelayedTxStore
  nonces: NonceManager
  events: Emitter<RelayerEvents>
  /** Where the relayer's warnings go (refused, not sent yet, stuck under the fee cap). */
  logger: Pick<Logger, 'warn'>
  /** The market's fees, cached for a moment so a burst of sends asks the node once. */
  fees(): Promise<Fees>
  /** Serializes changes to one record (send, tracker, replacement), so two paths never re-sign it twice. */
  withKey<T>(key: string, fn: () => Promise<T>): Promise<T>
  /** Latest head known (from the tracker or the engine's blocks); null until one is. */
  head: bigint | null
  /** The head of the tracker's last pass: replacements are considered once per new head. */
  trackedHead: bigint | null
  /** When each record was last handed to a node (ms), to space out re-broadcasts. */
  lastBroadcast: Map<string, number>
  /** Tracker passes that found a record's nonce used while its own attempt was still known to the node. */
  usedNonceSeen: Map<string, number>
  /**
   * Set by a tracker pass that found nothing in flight (and so asked the chain nothing): the next
   * allocation re-reads the chain's nonce first, and moves the counter back to it if records gave nonces up.
   */
  resync: boolean
  /** Wakes the tracker (a gap to fill, a refusal to retry). */
  wake(): void
  options: {
    /** Blocks a pending transaction may wait before it is replaced with bumped fees. */
    stuckBlocks: number
    /** Blocks an `instant` transaction stays watched for reorgs (or until finalized). */
    finalityDepth: number
    /** Least time between two re-broadcasts of the same transaction (ms). */
    rebroadcastMs: number
    /** No replacement goes above this fee cap (wei per gas). */
    maxFeePerGas: bigint | undefined
  }
  hooks: {
    /** Called before every broadcast; a throw aborts it (tests simulate a crash between sign and send). */
    beforeBroadcast?: ((tx: RelayedTx) => void | Promise<void>) | undefined
  }
}

/**
 * Signs an EIP-1559 transaction of the context's sender and returns its bytes and hash.
 *
 * @example
 * const { raw, hash } = await signRelayedTx(ctx, { nonce: 7, to, data: '0x', value: 0n, gas: 21_000n, ...fees })
 */
export async function signRelayedTx(
  ctx: Pick<RelayerContext, 'account' | 'chainId'>,
  tx: { nonce: number; to: Address; data: Hex; value: bigint; gas: bigint } & Fees,
): Promise<{ raw: Hex; hash: Hex }> {
  if (!ctx.account.signTransaction) throw new RelayerAccountError()
  const raw = await ctx.account.signTransaction({
    type: 'eip1559',
    chainId: ctx.chainId,
    nonce: tx.nonce,
    to: tx.to,
    data: tx.data,
    value: tx.value,
    gas: tx.gas,
    maxFeePerGas: tx.maxFeePerGas,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
  })
  return { raw, hash: keccak256(raw) }
}
