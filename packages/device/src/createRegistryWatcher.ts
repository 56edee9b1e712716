import { messageOf } from '@pbj/internal/messageOf.js'
import {
  type Address,
  encodeEventTopics,
  type Hex,
  numberToHex,
  type PublicClient,
  pad,
  parseAbi,
} from 'viem'
import { bloomBits, bloomMayContain } from './bloomMayContain.js'
import { connectChain } from './connectChain.js'
import type { DeviceLogger } from './DeviceLogger.js'

/** The parts of DeviceRegistry a car reads; inline so the car does not depend on the contracts package. */
export const registryAbi = parseAbi([
  'function isOperator(address device, address operator) view returns (bool)',
  'event OperatorAdded(address indexed device, address indexed operator)',
  'event OperatorRemoved(address indexed device, address indexed operator)',
])
const [addedTopic, removedTopic] = [
  ...encodeEventTopics({ abi: registryAbi, eventName: 'OperatorAdded' }),
  ...encodeEventTopics({ abi: registryAbi, eventName: 'OperatorRemoved' }),
] as [Hex, Hex]
const addedBits = bloomBits(addedTopic)
const removedBits = bloomBits(removedTopic)
/** Above this many cars on one watcher, a scan reads every car's operator logs rather than naming each. */
const MAX_NAMED_DEVICES = 32
/** Numbers each watcher's heads socket, so that closing one watcher closes no other's subscription. */
let watchers = 0
/** How long heads may not flow after a subscription error before the subscription is made anew. */
const RESUBSCRIBE_MS = 5_000
/** Recent blocks' hashes kept, to tell a late head (already seen) from a reorg. */
const RECENT_BLOCKS = 128

/**
 * The block up to which DeviceRegistry's operator logs have been given to every car on a watcher:
 * `block` (its `hash` and `timestamp`), and when the view got there (`at`, wall-clock ms).
 *
 * @example
 * const view: RegistryView = { block: 120n, hash: '0x…', timestamp: 1760000000n, at: Date.now() }
 */
export type RegistryView = { block: bigint; hash: Hex; timestamp: bigint; at: number }

/**
 * What a watcher tells one car: `invalidate(operator)` when the car's OperatorAdded / OperatorRemoved logs
 * name a signer (lowercase); `reset()` when the view could not be placed on the chain it had (a reorg, a
 * gap in the heads, the node behind), so nothing the car cached can be trusted without reading it again.
 *
 * @example
 * const listener: RegistryListener = { invalidate: (signer) => cache.delete(signer), reset: () => cache.clear() }
 */
export type RegistryListener = { invalidate(operator: string): void; reset(): void }

/**
 * One DeviceRegistry's operator logs, followed for many cars at once. See {@link createRegistryWatcher}.
 *
 * @example
 * const stop = watcher.subscribe(deviceId, { invalidate, reset })
 */
export type RegistryWatcher = {
  /** Where the view is; null until the first head or scan. */
  view(): RegistryView | null
  /** Whether heads are pushed now (a live WebSocket subscription); if not, only {@link sync} moves the view. */
  live(): boolean
  /**
   * Scans by RPC from the view up to the node's head (one getBlock, one getLogs), and resolves with the new
   * view. The scan reads the head after this call: one queued behind a scan under way is shared, not one
   * under way.
   */
  sync(): Promise<RegistryView>
  /** Resolves true once the view covers `block`, or false after `timeoutMs` (or at once if not live). */
  reach(block: bigint, timeoutMs: number): Promise<boolean>
  /** Starts telling `listener` about `deviceId`'s operator logs; returns what stops it. */
  subscribe(deviceId: string, listener: RegistryListener): () => void
  close(): Promise<void>
}

type Head = { number: bigint; hash: Hex; parentHash: Hex; timestamp: bigint; logsBloom: string }
type RawHead = { number: Hex; hash: Hex; parentHash: Hex; timestamp: Hex; logsBloom: string }
type RawLog = { topics: Hex[]; removed?: boolean }
type Subscribable = {
  subscribe?: (args: {
    params: ['newHeads']
    onData: (data: { result: RawHead }) => void
    onError?: (error: unknown) => void
  }) => Promise<{ unsubscribe: () => Promise<unknown> }>
}

/**
 * Follows DeviceRegistry's `OperatorAdded` / `OperatorRemoved` logs for the cars subscribed to it, so that
 * a car answers a command from a known operator from memory, with no RPC on the command's path.
 *
 * Over a WebSocket the node pushes each new head (`newHeads`, on a socket of its own). A head whose parent is the view's block
 * moves the view on: with no RPC when its `logsBloom` says the registry logged no operator change in it (a
 * bloom has no false negatives), otherwise after that block's registry logs are read (by block hash, once
 * for every car of the watcher) and handed to the cars they name. Any other head (a reorg, a gap, a head
 * the view has passed with another hash) resets every car and places the view there: cars read their
 * operators again rather than trust a cache the chain may have undone. Over http, or while the
 * subscription is down, the view moves only by {@link RegistryWatcher.sync}: polled every `pollIntervalMs`
 * and run by the cars whenever a command is newer than the view, as before there were pushes.
 *
 * Heads and scans run one at a time, in order, so the view only ever moves after its logs are handed out.
 *
 * @example
 * const watcher = createRegistryWatcher({ client, registry, pollIntervalMs: 2_000, logger })
 * const stop = watcher.subscribe(deviceId, { invalidate, reset })
 */
export function createRegistryWatcher(options: {
  client: PublicClient
  /** The node's URL: over ws(s), heads are subscribed to on a WebSocket of their own; over http(s), polled. */
  rpcUrl: string
  registry: string
  pollIntervalMs: number
  logger: DeviceLogger
  /** Called once the last car has unsubscribed and the watcher closed (for a cache of shared watchers). */
  onClosed?: () => void
}): RegistryWatcher {
  const { client, logger } = options
  const registry = options.registry.toLowerCase() as Address
  const registryBits = bloomBits(registry)
  const listeners = new Map<string, Set<RegistryListener>>()
  const recent = new Map<bigint, Hex>()
  const waiters = new Set<{ block: bigint; done: (reached: boolean) => void }>()
  let view: RegistryView | null = null
  let live = false
  let closed = false
  let lastWarning: string | undefined
  let tail: Promise<unknown> = Promise.resolve()
  let queuedSync: Promise<RegistryView> | null = null
  let subscription: { unsubscribe: () => Promise<unknown> } | null = null
  let subscribing = false
  let joins = 0

  const warn = (message: string) => {
    if (message !== lastWarning) logger.warn(message, { registry })
    lastWarning = message
  }
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task)
    tail = run.catch(() => {})
    return run
  }
  const deviceOf = (topic: Hex | undefined) => (topic ? `0x${topic.slice(26)}`.toLowerCase() : '')
  const deliver = (logs: readonly RawLog[]) => {
    for (const log of logs) {
      const operator = log.topics[2]
      if (!operator) continue
      for (const listener of listeners.get(deviceOf(log.topics[1])) ?? [])
        listener.invalidate(deviceOf(operator))
    }
  }
  const resetAll = () => {
    recent.clear()
    for (const set of listeners.values()) for (const listener of set) listener.reset()
  }
  const advance = (head: Omit<Head, 'parentHash' | 'logsBloom'>) => {
    view = { block: head.number, hash: head.hash, timestamp: head.timestamp, at: Date.now() }
    recent.set(head.number, head.hash)
    if (recent.size > RECENT_BLOCKS) recent.delete(recent.keys().next().value as bigint)
    for (const waiter of waiters) if (waiter.block <= head.number) waiter.done(true)
    return view
  }
  const deviceFilter = (): Hex[] | null =>
    listeners.size > 0 && listeners.size <= MAX_NAMED_DEVICES
      ? [...listeners.keys()].map((id) => pad(id as Hex, { size: 32 }))
      : null
  const readLogs = async (range: { blockHash: Hex } | { fromBlock: Hex; toBlock: Hex }) => {
    const read = (devices: Hex[] | null) =>
      client.request({
        method: 'eth_getLogs',
        params: [{ address: registry, topics: [[addedTopic, removedTopic], devices], ...range }],
      }) as Promise<RawLog[]>
    const joined = joins
    const logs = await read(deviceFilter())
    // A car that joined during the read was not named in it, and may have read an operator since.
    return joins === joined ? logs : read(null)
  }

  const scan = async (): Promise<RegistryView> => {
    const head = await client.getBlock({ blockTag: 'latest' })
    const current = view
    const hash = head.hash as Hex
    if (
      current &&
      (head.number < current.block || (head.number === current.block && hash !== current.hash))
    ) {
      // The node is behind us or the chain reorged: nothing cached can be placed; start over.
      resetAll()
    } else if (current && current.block < head.number) {
      deliver(
        await readLogs({ fromBlock: numberToHex(current.block + 1n), toBlock: numberToHex(head.number) }),
      )
    }
    return advance({ number: head.number, hash, timestamp: head.timestamp })
  }

  const onHead = (head: Head) =>
    serial(async () => {
      const current = view
      if (current === null) {
        // Nothing is cached before there is a view, so there is nothing this block could invalidate.
        advance(head)
        return
      }
      if (head.number <= current.block) {
        if (recent.get(head.number) === head.hash) return // seen already (a scan got there first)
        resetAll()
        advance(head)
        return
      }
      if (head.number !== current.block + 1n || head.parentHash !== current.hash) {
        resetAll()
        advance(head)
        return
      }
      const mayHaveLogs =
        bloomMayContain(head.logsBloom, registryBits) &&
        (bloomMayContain(head.logsBloom, addedBits) || bloomMayContain(head.logsBloom, removedBits))
      // If this read fails the view stays put: the next head then does not follow it, and resets.
      if (mayHaveLogs) deliver(await readLogs({ blockHash: head.hash }))
      advance(head)
    }).catch((error: unknown) => {
      warn(
        `cannot read DeviceRegistry ${registry} logs of block ${head.number}: ${messageOf(error, { short: true })}`,
      )
    })

  const heads = /^wss?:/i.test(options.rpcUrl)
    ? connectChain(options.rpcUrl, { socket: 'heads', owner: ++watchers })
    : null
  const subscribeHeads = async () => {
    const transport = heads?.transport as Subscribable | undefined
    if (!transport?.subscribe || subscription || subscribing || closed) return
    subscribing = true
    try {
      const started = await transport.subscribe({
        params: ['newHeads'],
        onData: ({ result }) => {
          live = true
          let head: Head
          try {
            head = {
              number: BigInt(result.number),
              hash: result.hash,
              parentHash: result.parentHash,
              timestamp: BigInt(result.timestamp),
              logsBloom: result.logsBloom,
            }
          } catch {
            return // not a head: the view stays where it is
          }
          void onHead(head)
        },
        onError: (error) => {
          // Commands newer than the view are now read through by RPC, as over http. viem reconnects the
          // socket and subscribes again (a gap in the heads then resets the cars); if heads do not flow
          // again within a few seconds, the subscription is dropped and made anew.
          live = false
          const failed = subscription
          setTimeout(() => {
            if (live || closed || subscription !== failed) return
            subscription = null
            failed?.unsubscribe().catch(() => {})
            void subscribeHeads()
          }, RESUBSCRIBE_MS).unref()
          warn(`DeviceRegistry ${registry}: head subscription failed: ${messageOf(error, { short: true })}`)
        },
      })
      if (closed) {
        started.unsubscribe().catch(() => {})
        return
      }
      subscription = started
      live = true
    } catch (error) {
      live = false
      warn(`DeviceRegistry ${registry}: cannot subscribe to heads: ${messageOf(error, { short: true })}`)
    } finally {
      subscribing = false
    }
  }

  const sync = (): Promise<RegistryView> => {
    if (queuedSync) return queuedSync
    const queued = serial(async () => {
      // Started: a sync asked for from now on must read a later head, so it queues anew.
      if (queuedSync === queued) queuedSync = null
      return scan()
    })
    queuedSync = queued
    return queued
  }

  const poll = setInterval(() => {
    if (live || listeners.size === 0) return
    void subscribeHeads()
    sync().then(
      () => {
        lastWarning = undefined
      },
      (error: unknown) =>
        warn(`cannot read DeviceRegistry ${registry}: ${messageOf(error, { short: true })}`),
    )
  }, options.pollIntervalMs)
  poll.unref()
  void subscribeHeads()

  const close = async () => {
    closed = true
    live = false
    clearInterval(poll)
    for (const waiter of waiters) waiter.done(false)
    // Not awaited: over a socket that dropped, eth_unsubscribe is never answered.
    subscription?.unsubscribe().catch(() => {})
    subscription = null
    await tail
    const socket = heads?.transport as { getRpcClient?: () => Promise<{ close(): void }> } | undefined
    await socket?.getRpcClient?.().then(
      (rpc) => rpc.close(),
      () => {},
    )
    options.onClosed?.()
  }

  return {
    view: () => view,
    live: () => live,
    sync,
    reach(block, timeoutMs) {
      if (view && view.block >= block) return Promise.resolve(true)
      if (!live || closed || timeoutMs <= 0) return Promise.resolve(false)
      return new Promise((resolve) => {
        const waiter = {
          block,
          done: (reached: boolean) => {
            clearTimeout(timer)
            waiters.delete(waiter)
            resolve(reached)
          },
        }
        const timer = setTimeout(() => waiter.done(false), timeoutMs)
        waiters.add(waiter)
      })
    },
    subscribe(deviceId, listener) {
      const id = deviceId.toLowerCase()
      joins++
      let set = listeners.get(id)
      if (!set) {
        set = new Set()
        listeners.set(id, set)
      }
      set.add(listener)
      return () => {
        const current = listeners.get(id)
        current?.delete(listener)
        if (current?.size === 0) listeners.delete(id)
      }
    },
    close,
  }
}
