import {
  type Address,
  createPublicClient,
  fallback,
  type Hex,
  http,
  type Log,
  type PublicClient,
  type RpcBlock,
  webSocket,
} from 'viem'
import { RpcError } from '../internal/errors.js'
import type { BlockHeader, ChainConnection } from './types.js'

const toHeader = (b: Pick<RpcBlock, 'number' | 'hash' | 'parentHash' | 'timestamp'>): BlockHeader => ({
  number: BigInt(b.number as Hex),
  hash: b.hash as Hex,
  parentHash: b.parentHash,
  timestamp: BigInt(b.timestamp),
})

const isWsUrl = (url: string) => /^wss?:\/\//.test(url)

/**
 * Connects to an RPC, or several. With a `ws://` / `wss://` URL a `newHeads` subscription wakes the follower
 * within ~2 ms of a block; with only `http(s)://` URLs heads are polled every `pollingIntervalMs`. Requests
 * go to the URLs in order, falling back to the next when one fails (so a WebSocket URL with an HTTP URL
 * after it gets HTTP as fallback).
 *
 * @example
 * const chain = await createChainConnection({ rpcUrl: ['ws://127.0.0.1:8545', 'http://127.0.0.1:8545'] })
 * const head = await chain.getHeader('latest')
 */
export async function createChainConnection(options: {
  rpcUrl: string | readonly string[]
  pollingIntervalMs?: number
}): Promise<ChainConnection> {
  const urls = typeof options.rpcUrl === 'string' ? [options.rpcUrl] : [...options.rpcUrl]
  const wsUrl = urls.find(isWsUrl)
  const rpcUrl = urls[0] ?? ''
  const isWs = wsUrl !== undefined
  const pollingInterval = options.pollingIntervalMs ?? 250
  const transports = urls.map((u) =>
    isWsUrl(u) ? webSocket(u, { retryCount: 2 }) : http(u, { retryCount: 2 }),
  )
  const client: PublicClient = createPublicClient({
    transport:
      transports.length === 1 ? (transports[0] as (typeof transports)[number]) : fallback(transports),
    pollingInterval,
  })
  // Heads get a WebSocket of their own. Requests and responses on the socket that carries the
  // subscription put Linux into delayed-ACK mode, and Anvil's next newHeads push then waits ~40 ms for that
  // ACK (Nagle). A socket that only receives pushes delivers them in ~1 ms. (viem caches sockets by URL and
  // options, so distinct keepAlive options give a distinct socket.)
  const headsClient: PublicClient | null = wsUrl
    ? createPublicClient({ transport: webSocket(wsUrl, { retryCount: 3, keepAlive: { interval: 29_000 } }) })
    : null
  const chainId = await client.getChainId().catch((cause: unknown) => {
    throw new RpcError(`Cannot reach the chain at ${rpcUrl}`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Check rpcUrl in pbj.config.ts, or remove it to run an embedded Anvil.',
      meta: { field: 'rpcUrl' },
    })
  })
  let closed = false
  const rpc = client.request as (args: { method: string; params: unknown[] }) => Promise<unknown>

  return {
    chainId,
    rpcUrl,
    async watchHeads(onHead, onError) {
      if (isWs) {
        const transport = (headsClient as PublicClient).transport as unknown as {
          subscribe(args: {
            params: ['newHeads']
            onData: (data: { result: RpcBlock }) => void
            onError: (error: Error) => void
          }): Promise<{ unsubscribe: () => Promise<unknown> }>
        }
        // Resolves once the subscription is live, so no block mined after this returns can be missed.
        const sub = await transport.subscribe({
          params: ['newHeads'],
          onData: (d) => onHead(toHeader(d.result)),
          onError: (e) => !closed && onError(e),
        })
        return () => void sub.unsubscribe().catch(() => {})
      }
      return client.watchBlocks({
        poll: true,
        pollingInterval,
        emitMissed: false,
        onBlock: (b) => onHead(toHeader(b as unknown as RpcBlock)),
        onError,
      })
    },
    async getFinalizedNumber() {
      const raw = (await rpc({ method: 'eth_getBlockByNumber', params: ['finalized', false] }).catch(
        () => null,
      )) as RpcBlock | null
      return raw?.number ? BigInt(raw.number) : null
    },
    async getHeader(block) {
      const tag = block === 'latest' ? 'latest' : `0x${block.toString(16)}`
      const raw = (await rpc({ method: 'eth_getBlockByNumber', params: [tag, false] })) as RpcBlock | null
      if (!raw) throw new RpcError(`Block ${String(block)} not found at ${rpcUrl}`)
      return toHeader(raw)
    },
    async getLogs({ blockHash, addresses }) {
      if (addresses && addresses.length === 0) return []
      const filter: Record<string, unknown> = { blockHash }
      if (addresses) filter.address = addresses
      const raw = (await rpc({ method: 'eth_getLogs', params: [filter] })) as Log<Hex>[]
      return raw.map((l) => ({
        ...l,
        blockNumber: BigInt(l.blockNumber as unknown as Hex),
        logIndex: Number(l.logIndex as unknown as Hex),
        transactionIndex: Number(l.transactionIndex as unknown as Hex),
      })) as Log[]
    },
    async readContract(call) {
      return client.readContract({
        address: call.address as Address,
        abi: call.abi,
        functionName: call.functionName,
        args: call.args ?? [],
        ...(call.blockNumber === undefined ? {} : { blockNumber: call.blockNumber }),
      } as Parameters<PublicClient['readContract']>[0])
    },
    async close() {
      closed = true
      const sockets = [headsClient?.transport, ...transports.map((t) => t({}).value)]
      for (const t of sockets as ({ getRpcClient?: () => Promise<{ close(): void }> } | undefined)[]) {
        await t
          ?.getRpcClient?.()
          .then((c) => c.close())
          .catch(() => {})
      }
    },
  }
}
