import { type Address, createPublicClient, custom, defineChain, type Hex } from 'viem'
import { estimateFeesPerGas } from 'viem/actions'
import type { RelayedReceipt } from '../../core/relayedTx.js'
import type { Fees } from './bumpFees.js'

/** One JSON-RPC request, e.g. an RPC pool's `request`. */
export type RpcRequest = (method: string, params: readonly unknown[]) => Promise<unknown>

/** The chain calls the relayer makes, typed. `null` where the node does not know the thing asked for. */
export type RelayerRpc = {
  /** `eth_getTransactionCount` at `latest` (nonces used by mined transactions) or `pending` (plus the pool). */
  nonceAt(address: Address, tag: 'latest' | 'pending'): Promise<number>
  sendRaw(raw: Hex): Promise<Hex>
  receipt(hash: Hex): Promise<RelayedReceipt | null>
  /** Whether the node knows the transaction (pooled or mined). */
  knows(hash: Hex): Promise<boolean>
  head(): Promise<bigint>
  blockHash(number: bigint): Promise<Hex | null>
  finalized(): Promise<bigint | null>
  estimateGas(tx: { from: Address; to: Address; data: Hex; value: bigint }): Promise<bigint>
  /** The market's EIP-1559 fees: priority fee from the node, fee cap = base fee × multiplier + priority. */
  fees(): Promise<Fees>
}

const hex = (n: bigint) => `0x${n.toString(16)}`

/**
 * Typed JSON-RPC calls for the relayer over any request function. Fees come from viem's
 * `estimateFeesPerGas` (`eth_maxPriorityFeePerGas`, falling back on `eth_gasPrice` − base fee) with a
 * base-fee multiplier of 2 by default: a fee cap that stays valid through several full blocks, while the
 * fee paid is still only base fee + priority.
 *
 * @example
 * const rpc = createRelayerRpc(pool.request, { chainId: 31337 })
 * const nonce = await rpc.nonceAt(address, 'pending')
 */
export function createRelayerRpc(
  request: RpcRequest,
  options: { chainId: number; baseFeeMultiplier?: number },
): RelayerRpc {
  const chain = defineChain({
    id: options.chainId,
    name: `chain ${options.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [] } },
    fees: { baseFeeMultiplier: options.baseFeeMultiplier ?? 2 },
  })
  const client = createPublicClient({
    chain,
    transport: custom({ request: ({ method, params }) => request(method, params ?? []) }, { retryCount: 0 }),
  })
  return {
    async nonceAt(address, tag) {
      return Number(BigInt((await request('eth_getTransactionCount', [address, tag])) as Hex))
    },
    async sendRaw(raw) {
      return (await request('eth_sendRawTransaction', [raw])) as Hex
    },
    async receipt(hash) {
      const r = (await request('eth_getTransactionReceipt', [hash])) as Record<string, Hex> | null
      if (!r?.blockHash || !r.blockNumber) return null
      return {
        transactionHash: r.transactionHash as Hex,
        blockNumber: BigInt(r.blockNumber),
        blockHash: r.blockHash,
        status: r.status === '0x1' ? 'success' : 'reverted',
        gasUsed: BigInt(r.gasUsed ?? '0x0'),
        effectiveGasPrice: BigInt(r.effectiveGasPrice ?? '0x0'),
      }
    },
    async knows(hash) {
      return (await request('eth_getTransactionByHash', [hash])) !== null
    },
    async head() {
      return BigInt((await request('eth_blockNumber', [])) as Hex)
    },
    async blockHash(number) {
      const b = (await request('eth_getBlockByNumber', [hex(number), false])) as { hash?: Hex } | null
      return b?.hash ?? null
    },
    async finalized() {
      const b = (await request('eth_getBlockByNumber', ['finalized', false]).catch(() => null)) as {
        number?: Hex
      } | null
      return b?.number ? BigInt(b.number) : null
    },
    async estimateGas(tx) {
      const call = { from: tx.from, to: tx.to, data: tx.data, value: hex(tx.value) }
      return BigInt((await request('eth_estimateGas', [call])) as Hex)
    },
    async fees() {
      const fees = await estimateFeesPerGas(client, { type: 'eip1559' })
      return { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
    },
  }
}
