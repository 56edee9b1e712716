import {
  type Address,
  type BaseError,
  createPublicClient,
  custom,
  decodeFunctionResult,
  getContractError,
  type Hex,
  type Log,
  type PublicClient,
  type RpcBlock,
} from 'viem'
import { getCallError } from 'viem/utils'
import type { BlockHeader } from '../core/block.js'
import { BlockNotFoundError, ChainConnectError, RpcError, RpcUrlError } from '../internal/errors.js'
import { createReadBatcher } from './createReadBatcher.js'
import { createReadCache } from './createReadCache.js'
import { createRpcPool, isWsUrl } from './createRpcPool.js'
import { decodeFunctionOutputs } from './decodeFunctionOutputs.js'
import { encodeFunctionCall } from './encodeFunctionCall.js'
import { multicall3Address } from './multicall3.js'
import type { ChainConnection } from './types.js'
import { untilNodeAnswers, type WaitForNode } from './untilNodeAnswers.js'
import { watchHeadsOverWebSocket } from './watchHeadsOverWebSocket.js'

const toHeader = (
  b: Pick<RpcBlock, 'number' | 'hash' | 'parentHash' | 'timestamp'> & { logsBloom?: Hex | null },
): BlockHeader => ({
  number: BigInt(b.number as Hex),
  hash: b.hash as Hex,
  parentHash: b.parentHash,
  timestamp: BigInt(b.timestamp),
  ...(b.logsBloom ? { logsBloom: b.logsBloom } : {}),
})

/**
 * The node's logs with their numbers as numbers, converted in place: the answer is parsed for this call
 * alone, and a catch-up's answers hold a thousand logs each, so a copy of every log was garbage a moment
 * later. Converting twice (an answer shared by deduplicated requests) gives the same values.
 */
const toLogs = (raw: Log<Hex>[]): Log[] => {
  for (const l of raw as unknown as Record<string, unknown>[]) {
    l.blockNumber = BigInt(l.blockNumber as Hex | bigint)
    l.logIndex = Number(l.logIndex)
    l.transactionIndex = Number(l.transactionIndex)
  }
  return raw as unknown as Log[]
}

const hex = (n: bigint) => `0x${n.toString(16)}`

/**
 * Connects to an RPC, or several. With a `ws://` / `wss://` URL a `newHeads` subscription wakes the follower
 * within ~2 ms of a block; with only `http(s)://` URLs heads are polled every `pollingIntervalMs`. Requests
 * go to the URLs in order, failing over to the next when one is down, rate-limited or erroring (so a
 * WebSocket URL with an HTTP URL after it gets HTTP as fallback), and coming back to the first once it
 * recovers. Requests are not retried here: the follower backs off and retries itself, and viem's retries
 * only serve the functions' contract reads.
 *
 * @example
 * const chain = await createChainConnection({ rpcUrl: ['ws://127.0.0.1:8545', 'http://127.0.0.1:8545'] })
 * const head = await chain.getHeader('latest')
 */
export async function createChainConnection(options: {
  rpcUrl: string | readonly string[]
  pollingIntervalMs?: number
  /** Per-request time limit (default 10 s). */
  timeoutMs?: number
  /**
   * At start-up, wait for a node that does not answer yet (the engine's case) instead of failing at once:
   * see {@link untilNodeAnswers}. Without it, an unreachable node is a ChainConnectError.
   */
  waitForNode?: WaitForNode | undefined
}): Promise<ChainConnection> {
  const urls = typeof options.rpcUrl === 'string' ? [options.rpcUrl] : [...options.rpcUrl]
  for (const url of urls) if (!isRpcUrl(url)) throw new RpcUrlError({ url })
  const wsUrls = urls.filter(isWsUrl)
  const rpcUrl = urls[0] ?? ''
  const pollingInterval = options.pollingIntervalMs ?? 250
  const pool = createRpcPool(urls, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
  const rpc = (method: string, params: readonly unknown[]) => pool.request(method, params)
  // Contract reads keep viem's retries (a function's read must not fail on one rate limit); the pool fails
  // them over between URLs underneath, and the batcher (set once the chain is known to have Multicall3)
  // sends a block's reads as a few calls.
  let readRequest = rpc
  const client: PublicClient = createPublicClient({
    transport: custom(
      { request: ({ method, params }) => readRequest(method, params ?? []) },
      { retryCount: 2 },
    ),
    pollingInterval,
  })
  const chainIdHex = await untilNodeAnswers(() => rpc('eth_chainId', []), {
    urls,
    wait: options.waitForNode,
    refuse: (cause) => new ChainConnectError({ urls, cause }),
  }).catch(async (error: unknown) => {
    await pool.close()
    throw error
  })
  const chainId = Number(BigInt(chainIdHex as Hex))
  const multicallCode = await rpc('eth_getCode', [multicall3Address, 'latest']).catch(() => '0x')
  const batcher = createReadBatcher(rpc, {
    multicall: typeof multicallCode === 'string' && multicallCode.length > 2,
  })
  readRequest = batcher
  let closed = false
  const stops = new Set<() => void>()
  let latest = 0n
  // Identical reads of one block are answered once (see createReadCache): every header seen goes through
  // it first, so a block replaced by a reorg stops being served before the engine can read at its number.
  const readCache = createReadCache()
  const seen = (header: BlockHeader) => {
    readCache.noteHeader(header)
    if (header.number > latest) latest = header.number
    return header
  }
  /** One eth_call, through viem's request (its retries and error types), the batcher, and the block cache. */
  const ethCall = (to: Address, data: Hex, blockNumber: bigint | undefined): Promise<Hex> => {
    const send = () =>
      client.request({
        method: 'eth_call',
        params: [{ to, data }, blockNumber === undefined ? 'latest' : (hex(blockNumber) as Hex)],
      }) as Promise<Hex>
    return blockNumber === undefined ? send() : readCache.get(blockNumber, to, data, send)
  }

  const getHeader: ChainConnection['getHeader'] = async (block) => {
    const tag = block === 'latest' ? 'latest' : hex(block)
    const raw = (await rpc('eth_getBlockByNumber', [tag, false])) as RpcBlock | null
    if (!raw) throw new BlockNotFoundError({ block, rpcUrl })
    return seen(toHeader(raw))
  }

  /** Polls the head, reporting each new one; the http-only head source, like viem's watchBlocks. */
  const pollHeads = (onHead: (head: BlockHeader) => void, onError: (error: Error) => void) => {
    let timer: NodeJS.Timeout | undefined
    let last: string | null = null
    let stopped = false
    let failing = 0
    const tick = () => {
      getHeader('latest')
        .then((head) => {
          failing = 0
          if (head.hash === last) return
          last = head.hash
          onHead(head)
        })
        .catch((error: unknown) => {
          // The first failure of a streak, then every 40th: an outage must not log four lines a second.
          if (failing++ % 40 === 0 && !closed)
            onError(error instanceof Error ? error : new RpcError(String(error)))
        })
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, pollingInterval)
        })
    }
    timer = setTimeout(tick, pollingInterval)
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }

  return {
    chainId,
    rpcUrl,
    async watchHeads(onHead, onError) {
      const report = (error: Error) => !closed && onError(error)
      const stop =
        wsUrls.length > 0
          ? await watchHeadsOverWebSocket({
              wsUrls,
              toHeader,
              getHead: () => getHeader('latest'),
              pollingIntervalMs: pollingInterval,
              onHead: (head) => onHead(seen(head)),
              onError: report,
            })
          : pollHeads(onHead, report)
      stops.add(stop)
      return () => {
        stops.delete(stop)
        stop()
      }
    },
    async getFinalizedNumber() {
      const raw = (await rpc('eth_getBlockByNumber', ['finalized', false]).catch(
        () => null,
      )) as RpcBlock | null
      return raw?.number ? BigInt(raw.number) : null
    },
    getHeader,
    latestSeen: () => latest,
    async getLogs({ blockHash, addresses }) {
      if (addresses && addresses.length === 0) return []
      const filter: Record<string, unknown> = { blockHash }
      if (addresses) filter.address = addresses
      return toLogs((await rpc('eth_getLogs', [filter])) as Log<Hex>[])
    },
    async getLogsInRange({ fromBlock, toBlock, addresses }) {
      if (addresses.length === 0) return []
      const filter = { fromBlock: hex(fromBlock), toBlock: hex(toBlock), address: addresses }
      return toLogs((await rpc('eth_getLogs', [filter])) as Log<Hex>[])
    },
    // viem's readContract less its `call` action (request formatting, CCIP checks); the same encoding,
    // decoding and errors. The function is looked up once (viem looks it up to encode and again to decode),
    // the call written and the answer read straight from and to hex for the common types
    // (encodeFunctionCall, decodeFunctionOutputs), viem doing the rest. With those and the hand-written
    // aggregate3 codec a batched read costs ~40–60 µs of CPU (~70 with viem's encoder and decoder, ~125
    // with its multicall too), and a repeated one ~10 (~27) (bench/chain/readCpu.ts).
    async readContract(call, observe) {
      const { abi, functionName, address } = call
      const args = call.args ?? []
      const { item, data } = encodeFunctionCall(abi, functionName, args)
      observe?.({ to: address, data })
      try {
        const raw = (await ethCall(address, data, call.blockNumber)) || '0x'
        return item?.outputs
          ? decodeFunctionOutputs(item, raw)
          : decodeFunctionResult({ abi, functionName, args, data: raw } as Parameters<
              typeof decodeFunctionResult
            >[0])
      } catch (error) {
        throw getContractError(getCallError(error as BaseError, { to: address, data }), {
          abi,
          address,
          args,
          docsPath: '/docs/contract/readContract',
          functionName,
        })
      }
    },
    prefetchReads(reads, header) {
      readCache.noteHeader(header)
      if (!readCache.holds(header.number)) return
      for (const { to, data } of reads) {
        if (readCache.has(header.number, to, data)) continue
        // Nobody may be waiting for it yet: a failure is the reader's to see when it asks again.
        ethCall(to, data, header.number).catch(() => {})
      }
      // Sent now, not when this turn ends: the rest of the turn commits the block and starts its runs,
      // which then wait for these answers (viem hands the calls to the batcher synchronously).
      batcher.flush()
    },
    forgetReads: (fromBlock) => readCache.forget(fromBlock),
    async getCode(address, blockNumber) {
      return (await rpc('eth_getCode', [
        address,
        blockNumber === undefined ? 'latest' : hex(blockNumber),
      ])) as Hex
    },
    async close() {
      closed = true
      for (const stop of stops) stop()
      stops.clear()
      await pool.close()
    },
  }
}

const isRpcUrl = (url: string) => {
  try {
    return ['ws:', 'wss:', 'http:', 'https:'].includes(new URL(url).protocol)
  } catch {
    return false
  }
}
