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
import { z } from 'zod'
import { connectChain as connect } from './connectChain.js'
import { createTokenBucket } from './createTokenBucket.js'
import { consoleDeviceLogger, type DeviceLogger } from './DeviceLogger.js'
import { RegistryReadError } from './errors/connection.js'
import { InvalidLimitsError } from './errors/options.js'

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
  /** Where polling trouble is warned about; defaults to console.warn. */
  logger?: DeviceLogger | undefined
  /** A client to read through instead of connecting to `rpcUrl` (shared by the devices of one process). */
  client?: PublicClient
  /**
   * How many signers' answers are kept (operators and not), least recently used evicted first, operators
   * last. Default 4096: a car has one or two operators, the rest is what strangers cost, and bounded.
   */
  maxCachedSigners?: number
  /**
   * The registry reads signers the car does not know may cause: `perSecond` with a `burst`. Beyond it such
   * a signer is answered `rate-limited` without any RPC. Default 5 a second, burst 20.
   */
  unknownSignerLookups?: { perSecond: number; burst: number }
}

const Limits = z.object({
  maxCachedSigners: z.number().int().min(1).default(4096),
  unknownSignerLookups: z
    .object({ perSecond: z.number().nonnegative(), burst: z.number().nonnegative() })
    .default({ perSecond: 5, burst: 20 }),
})

/**
 * What the registry says of a signer: `operator` of this car, `not-operator`, or `rate-limited` (a signer
 * the car does not know, beyond the lookups it grants such signers: not looked up, so not known either way).
 *
 * @example
 * const answer: OperatorAnswer = await operators.check(signer, message.chainTime)
 */
export type OperatorAnswer = 'operator' | 'not-operator' | 'rate-limited'

/**
 * Whether a key may command this car, per DeviceRegistry. See {@link createOperatorCheck}.
 *
 * @example
 * if ((await operators.check(signer, message.chainTime)) !== 'operator') refuse('unauthorized')
 */
export type OperatorCheck = {
  /**
   * Resolves whether `signer` is an operator of this car. `chainTime` is the command's block timestamp: a
   * command from a block the car's view of the registry has not reached yet makes it catch up first.
   * Rejects with a RegistryReadError when the registry cannot be read and no fresh cached answer exists.
   */
  check(signer: string, chainTime: number): Promise<OperatorAnswer>
  /**
   * Whether `signer` is cached as an operator of this car (whatever the answer's age): no RPC, for picking
   * the lane a command waits in. A true here is no authorization; {@link OperatorCheck.check} is.
   */
  isKnownOperator(signer: string): boolean
  /**
   * Whether {@link OperatorCheck.check} would answer `rate-limited` now, with no RPC and no signature
   * check: so that the car spends no public-key recovery on junk it would refuse anyway.
   */
  wouldRateLimit(signer: string, chainTime: number): boolean
  /** How many signers are cached now (never more than `maxCachedSigners`). */
  cachedSigners(): number
  close(): Promise<void>
}

type View = { block: bigint; timestamp: bigint; at: number }
/**
 * `allowed: null`: named in this car's OperatorAdded / OperatorRemoved logs since last read, so it must be
 * read again, and is not rate-limited (only the car's owner can put a signer in those logs).
 */
type Entry = { allowed: boolean | null; at: number }

/**
 * Reads `DeviceRegistry.isOperator(car, signer)` and caches the answer per signer, keeping the cache
 * current from the registry's `OperatorAdded` / `OperatorRemoved` logs for this car: polled in the
 * background, and read up to the head before answering whenever in doubt — the command comes from a block
 * at or after the last one the car scanned (every fresh command does), or the view is older than
 * `maxAgeMs`. So an operator removed in block N cannot command the car with a command of block N or later,
 * whatever the poll timing; the only cost is one or two small RPC calls per genuine command. Forged or
 * mangled messages never get here (the signature is checked first), so they cost no RPC.
 *
 * Validly signed junk does get here: anyone can make keys. So "not an operator" is cached too (kept
 * current by the same logs, so an operator added later is read again and accepted), a signer not known as
 * an operator is answered from that cache without RPC unless its command claims a block the view has not
 * reached, and whatever RPC such signers cause (a read, a catch-up) is paid from a token bucket
 * (`unknownSignerLookups`): beyond it they are answered `rate-limited`, with no RPC. Known operators are
 * never rate-limited. The cache is an LRU of `maxCachedSigners`, evicting non-operators first.
 *
 * @example
 * const operators = createOperatorCheck({ rpcUrl: 'http://127.0.0.1:8545', registry, deviceId })
 * await operators.check('0x3c44…', message.chainTime) // 'operator'
 * await operators.close()
 */
export function createOperatorCheck(options: OperatorCheckOptions): OperatorCheck {
  const { deviceId } = options
  const registry = options.registry.toLowerCase() as Address
  const maxAgeMs = options.maxAgeMs ?? 60_000
  const logger = options.logger ?? consoleDeviceLogger
  const warn = (message: string) =>
    logger.warn(message, { deviceId: options.deviceId, registry: options.registry })
  const parsed = Limits.safeParse({
    maxCachedSigners: options.maxCachedSigners,
    unknownSignerLookups: options.unknownSignerLookups,
  })
  if (!parsed.success) {
    throw new InvalidLimitsError({ problems: z.prettifyError(parsed.error) })
  }
  const { maxCachedSigners } = parsed.data
  const lookups = createTokenBucket(parsed.data.unknownSignerLookups)
  const client = options.client ?? connect(options.rpcUrl)
  const deviceTopic = pad(deviceId as Hex, { size: 32 })
  // Insertion order is recency order: a hit moves the signer to the end.
  const cache = new Map<string, Entry>()
  // Bumped when a log or a reorg invalidates anything, so a read that started before stores no stale answer.
  let epoch = 0
  let view: View | null = null
  let syncing: Promise<View> | null = null
  let lastWarning: string | undefined

  const remember = (signer: string, entry: Entry) => {
    cache.delete(signer)
    cache.set(signer, entry)
    while (cache.size > maxCachedSigners) {
      // The oldest non-operator goes first: a flood of strangers must not push the car's operator out.
      let victim: string | undefined
      for (const [key, cached] of cache) {
        if (cached.allowed !== true) {
          victim = key
          break
        }
      }
      cache.delete(victim ?? (cache.keys().next().value as string))
    }
  }
  const invalidate = (signer: string) => {
    epoch++
    remember(signer, { allowed: null, at: 0 })
  }

  // One scan at a time: blocks after the view up to the head, then the view moves to the head.
  const sync = (): Promise<View> => {
    syncing ??= (async () => {
      const head = await client.getBlock({ blockTag: 'latest' })
      const from = view ? view.block + 1n : head.number
      if (view && head.number < view.block) {
        // The node is behind us or the chain reorged: nothing in the cache can be placed; start over. The
        // operators are read again first thing (not rate-limited); strangers are simply forgotten.
        epoch++
        for (const [signer, cached] of [...cache]) {
          if (cached.allowed === false) cache.delete(signer)
          else cache.set(signer, { allowed: null, at: 0 })
        }
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
        const message = `car ${deviceId}: cannot read DeviceRegistry ${registry}: ${messageOf(error, { short: true })}`
        if (message !== lastWarning) warn(message)
        lastWarning = message
      },
    )
  }, options.pollIntervalMs ?? 2_000)
  poll.unref()

  return {
    async check(signer, chainTime) {
      const who = signer.toLowerCase()
      const known = cache.get(who)
      if (known) remember(who, known)
      // Operators, and signers this car's logs named, are never rate-limited; anyone else's RPC is.
      const trusted = known !== undefined && known.allowed !== false
      const now = Date.now()
      let current = view
      const behind = !current || BigInt(chainTime) >= current.timestamp || now - current.at > maxAgeMs
      if (!trusted) {
        // A stranger already refused, with a command of a block the view covers: the cache answers.
        if (known && !behind && now - known.at <= maxAgeMs) return 'not-operator'
        if (!lookups.take()) return 'rate-limited'
      }
      let unreachable: unknown
      if (behind) {
        try {
          // A scan already under way may have read the head before the block this command comes from.
          if (syncing) await syncing.catch(() => {})
          current = await sync()
        } catch (error) {
          unreachable = error
        }
      }
      const cached = cache.get(who)
      if (cached && cached.allowed !== null && Date.now() - cached.at <= maxAgeMs) {
        return cached.allowed ? 'operator' : 'not-operator'
      }
      if (unreachable !== undefined || !current) {
        throw new RegistryReadError({ registry, cause: unreachable })
      }
      const started = epoch
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
        throw new RegistryReadError({ registry, cause: error })
      }
      if (epoch === started) remember(who, { allowed, at: Date.now() })
      return allowed ? 'operator' : 'not-operator'
    },
    wouldRateLimit(signer, chainTime) {
      const known = cache.get(signer.toLowerCase())
      if (known !== undefined && known.allowed !== false) return false
      const now = Date.now()
      const behind = !view || BigInt(chainTime) >= view.timestamp || now - view.at > maxAgeMs
      if (known && !behind && now - known.at <= maxAgeMs) return false
      return !lookups.has()
    },
    isKnownOperator: (signer) => cache.get(signer.toLowerCase())?.allowed === true,
    cachedSigners: () => cache.size,
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
