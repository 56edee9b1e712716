import {
  type Address,
  createPublicClient,
  encodeEventTopics,
  type Hex,
  http,
  numberToHex,
  type PublicClient,
  pad,
  parseAbi,
  webSocket,
} from 'viem'
import { DeviceError } from './DeviceError.js'

/** The parts of DeviceRegistry a car reads; inline so the car does not depend on the contracts package. */
const registryAbi = parseAbi([
  'function isOperator(address device, address operator) view returns (bool)',
  'event OperatorAdded(address indexed device, address indexed operator)',
  'event OperatorRemoved(address indexed device, address indexed operator)',
])
const operatorTopics = [
  ...encodeEventTopics({ abi: registryAbi, eventName: 'OperatorAdded' }),
  ...encodeEventTopics({ abi: registryAbi, eventName: 'OperatorRemoved' }),
] as Hex[]

/**
 * Options of {@link createOperatorCheck}.
 *
 * @example
 * const options: OperatorCheckOptions = { rpcUrl, registry, deviceId }
 */
export type OperatorCheckOptions = {
  /** http(s):// or ws(s):// URL of a node of the chain the registry is on. */
  rpcUrl: string
  /** The DeviceRegistry's address. */
  registry: string
  deviceId: string
  /** How often the registry's operator events for this car are polled in the background. Default 2000 ms. */
  pollIntervalMs?: number
  /**
   * The longest a cached answer is trusted without re-reading the registry; it also bounds how long a
   * cached answer serves while the node is unreachable. Default 60 s.
   */
  maxAgeMs?: number
  /** Polling trouble; defaults to console.warn. */
  onWarning?: (message: string) => void
  /** A client to read through instead of connecting to `rpcUrl` (shared by the devices of one process). */
  client?: PublicClient
}

/**
 * Whether a key may command this car, per DeviceRegistry. See {@link createOperatorCheck}.
 *
 * @example
 * if (!(await operators.isOperator(signer, message.chainTime))) refuse('unauthorized')
 */
export type OperatorCheck = {
  /**
   * Resolves whether `signer` is an operator of this car. `chainTime` is the command's block timestamp: a
   * command from a block the car's view of the registry has not reached yet makes it catch up first.
   * Rejects with a DeviceError when the registry cannot be read and no fresh cached answer exists.
   */
  isOperator(signer: string, chainTime: number): Promise<boolean>
  close(): Promise<void>
}

type View = { block: bigint; timestamp: bigint; at: number }
type Entry = { allowed: boolean; at: number }

/**
 * Reads `DeviceRegistry.isOperator(car, signer)` and caches the answer per signer, keeping the cache
 * current from the registry's `OperatorAdded` / `OperatorRemoved` logs for this car: polled in the
 * background, and read up to the head before answering whenever in doubt — the command comes from a block
 * at or after the last one the car scanned (every fresh command does), or the view is older than
 * `maxAgeMs`. So an operator removed in block N cannot command the car with a command of block N or later,
 * whatever the poll timing; the only cost is one or two small RPC calls per genuine command. Forged or
 * mangled messages never get here (the signature is checked first), so they cost no RPC.
 *
 * @example
 * const operators = createOperatorCheck({ rpcUrl: 'http://127.0.0.1:8545', registry, deviceId })
 * await operators.isOperator('0x3c44…', message.chainTime) // true
 * await operators.close()
 */
export function createOperatorCheck(options: OperatorCheckOptions): OperatorCheck {
  const { deviceId } = options
  const registry = options.registry.toLowerCase() as Address
  const maxAgeMs = options.maxAgeMs ?? 60_000
  const warn = options.onWarning ?? ((message: string) => console.warn(message))
  const client = options.client ?? connect(options.rpcUrl)
  const deviceTopic = pad(deviceId as Hex, { size: 32 })
  const cache = new Map<string, Entry>()
  // Bumped when a log invalidates a signer, so a read that started before cannot store a stale answer.
  const epochs = new Map<string, number>()
  let view: View | null = null
  let syncing: Promise<View> | null = null
  let lastWarning: string | undefined

  const invalidate = (signer: string) => {
    cache.delete(signer)
    epochs.set(signer, (epochs.get(signer) ?? 0) + 1)
  }

  // One scan at a time: blocks after the view up to the head, then the view moves to the head.
  const sync = (): Promise<View> => {
    syncing ??= (async () => {
      const head = await client.getBlock({ blockTag: 'latest' })
      const from = view ? view.block + 1n : head.number
      if (view && head.number < view.block) {
        // The node is behind us or the chain reorged: nothing in the cache can be placed; start over.
        for (const signer of [...cache.keys()]) invalidate(signer)
      } else if (view && from <= head.number) {
        const logs = (await client.request({
          method: 'eth_getLogs',
          params: [
            {
              address: registry,
              topics: [operatorTopics, deviceTopic],
              fromBlock: numberToHex(from),
              toBlock: numberToHex(head.number),
            },
          ],
        })) as { topics: Hex[] }[]
        for (const log of logs) {
          const operator = log.topics[2]
          if (operator) invalidate(`0x${operator.slice(26)}`.toLowerCase())
        }
      }
      view = { block: head.number, timestamp: head.timestamp, at: Date.now() }
      return view
    })().finally(() => {
      syncing = null
    })
    return syncing
  }

  const poll = setInterval(() => {
    sync().then(
      () => {
        lastWarning = undefined
      },
      (error: unknown) => {
        const message = `car ${deviceId}: cannot read DeviceRegistry ${registry}: ${messageOf(error)}`
        if (message !== lastWarning) warn(message)
        lastWarning = message
      },
    )
  }, options.pollIntervalMs ?? 2_000)
  poll.unref()

  return {
    async isOperator(signer, chainTime) {
      const who = signer.toLowerCase()
      const now = Date.now()
      let current = view
      let unreachable: unknown
      if (!current || BigInt(chainTime) >= current.timestamp || now - current.at > maxAgeMs) {
        try {
          // A scan already under way may have read the head before the block this command comes from.
          if (syncing) await syncing.catch(() => {})
          current = await sync()
        } catch (error) {
          unreachable = error
        }
      }
      const cached = cache.get(who)
      if (cached && Date.now() - cached.at <= maxAgeMs) return cached.allowed
      if (unreachable !== undefined || !current) {
        throw new DeviceError(`cannot read DeviceRegistry ${registry}: ${messageOf(unreachable)}`, {
          cause: unreachable,
        })
      }
      const epoch = epochs.get(who) ?? 0
      let allowed: boolean
      try {
        // At the block the logs were scanned to, so the answer and the scan describe the same state.
        allowed = await client.readContract({
          address: registry,
          abi: registryAbi,
          functionName: 'isOperator',
          args: [deviceId as Address, who as Address],
          blockNumber: current.block,
        })
      } catch (error) {
        throw new DeviceError(`cannot read DeviceRegistry ${registry}: ${messageOf(error)}`, { cause: error })
      }
      if ((epochs.get(who) ?? 0) === epoch) cache.set(who, { allowed, at: Date.now() })
      return allowed
    },
    async close() {
      clearInterval(poll)
      await syncing?.catch(() => {})
      // A WebSocket transport keeps a socket open; an http one has nothing to close. A shared client is
      // its owner's to close.
      if (options.client) return
      const transport = client.transport as { getRpcClient?: () => Promise<{ close(): void }> }
      if (transport.getRpcClient)
        await transport.getRpcClient().then(
          (rpc) => rpc.close(),
          () => {},
        )
    },
  }
}

function connect(rpcUrl: string): PublicClient {
  let protocol: string
  try {
    protocol = new URL(rpcUrl).protocol
  } catch (cause) {
    throw new DeviceError(`chain.rpcUrl "${rpcUrl}" is not a URL`, { cause })
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) {
    throw new DeviceError(`chain.rpcUrl must be http(s):// or ws(s)://, got "${rpcUrl}"`)
  }
  // Few retries: a command waits on this, and a node that is away is answered from the cache or retried later.
  const settings = { retryCount: 1, timeout: 5_000 }
  return createPublicClient({
    transport: protocol.startsWith('ws') ? webSocket(rpcUrl, settings) : http(rpcUrl, settings),
  })
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return (error as { shortMessage?: string }).shortMessage ?? error.message
  return String(error)
}
