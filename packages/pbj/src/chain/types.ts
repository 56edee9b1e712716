import type { Abi, Address, Hex, Log } from 'viem'

/** The parts of a block header the pipeline uses. */
export type BlockHeader = { number: bigint; hash: Hex; parentHash: Hex; timestamp: bigint }

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
  /** Calls `onHead` for new heads. A head is only a wake-up: the follower re-reads and links blocks itself. */
  watchHeads(onHead: (head: BlockHeader) => void, onError: (error: Error) => void): Promise<() => void>
  getHeader(block: bigint | 'latest'): Promise<BlockHeader>
  /** The chain's finalized block number (the `finalized` tag), or null where the node has none. */
  getFinalizedNumber(): Promise<bigint | null>
  /** Logs of one block (by hash, so a reorg cannot mix blocks), optionally only from `addresses`. */
  getLogs(params: { blockHash: Hex; addresses?: readonly Address[] }): Promise<Log[]>
  readContract(call: ReadCall): Promise<unknown>
  close(): Promise<void>
}
