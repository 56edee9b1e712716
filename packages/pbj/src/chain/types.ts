import type { Abi, Address, Hex, Log } from 'viem'
import type { BlockHeader } from '../core/block.js'
import type { ReadRef } from './createReadMemory.js'

/** A view call. `blockNumber` pins the state read. */
export type ReadCall = {
  address: Address
  abi: Abi
  functionName: string
  args?: readonly unknown[]
  blockNumber?: bigint
}

/**
 * The chain seam. Embedded: a spawned Anvil over WebSocket; a remote RPC (ws or http) sits behind the same
 * interface.
 */
export type ChainConnection = {
  chainId: number
  rpcUrl: string
  /**
   * Calls `onHead` for new heads. A head is only a wake-up: the follower re-reads and links blocks itself.
   * A dropped subscription is reported to `onError`, heads are polled until it is back, and it is renewed
   * with backoff.
   */
  watchHeads(onHead: (head: BlockHeader) => void, onError: (error: Error) => void): Promise<() => void>
  getHeader(block: bigint | 'latest'): Promise<BlockHeader>
  /** The chain's finalized block number (the `finalized` tag), or null where the node has none. */
  getFinalizedNumber(): Promise<bigint | null>
  /** Logs of one block (by hash, so a reorg cannot mix blocks), optionally only from `addresses`. */
  getLogs(params: { blockHash: Hex; addresses?: readonly Address[] }): Promise<Log[]>
  /**
   * Logs of `addresses` in blocks `fromBlock`–`toBlock`, by number (for catching up; check each log's
   * blockHash against the block processed). Providers refuse wide ranges: see `parseLogRangeError`.
   */
  getLogsInRange(params: {
    fromBlock: bigint
    toBlock: bigint
    addresses: readonly Address[]
  }): Promise<Log[]>
  /**
   * View calls; `observe` is told the encoded call (to remember it for a prefetch). Those made in the same tick at the same block go to the node as one `eth_call` (a
   * multicall that needs no contract on chain): a block that makes a thousand runs read costs the node a
   * few calls, not thousands.
   */
  readContract(call: ReadCall, observe?: (read: ReadRef) => void): Promise<unknown>
  /**
   * Asks for `reads` at `header`'s block now, in one multicall, into the per-block read cache, so the runs
   * and guards that make exactly those reads at that block find them answered or in flight. A read that is
   * not asked for is only a wasted sub-call. Blocks outside the cache's window are not prefetched.
   */
  prefetchReads(reads: readonly ReadRef[], header: BlockHeader): void
  /**
   * Drops cached read answers of `fromBlock` and later (all without it). Headers of another fork already
   * drop them as they are seen; the reorg handler calls this too, so nothing of a rolled-back block stays.
   */
  forgetReads(fromBlock?: bigint): void
  /** The code at `address` (`'0x'` for none), at `blockNumber` or the head. */
  getCode(address: Address, blockNumber?: bigint): Promise<Hex>
  /** The highest block number this connection has seen from the node (heads and `latest` reads); 0n before any. */
  latestSeen(): bigint
  close(): Promise<void>
}
