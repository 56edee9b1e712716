import type { Address, PublicClient } from 'viem'
import { z } from 'zod'
import { acquireRegistryWatcher } from './acquireRegistryWatcher.js'
import { connectChain as connect } from './connectChain.js'
import { type RegistryView, registryAbi } from './createRegistryWatcher.js'
import { createTokenBucket } from './createTokenBucket.js'
import { consoleDeviceLogger, type DeviceLogger } from './DeviceLogger.js'
import { RegistryReadError } from './errors/connection.js'
import { InvalidLimitsError } from './errors/options.js'

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
  /**
   * How often the registry's operator events are polled in the background when no head subscription is
   * live (an http URL, or a WebSocket whose subscription failed). Default 2000 ms.
   */
  pollIntervalMs?: number
  /**
   * How long a command of a block the car's view has not reached waits for that block's head to be pushed
   * before the car reads the registry by RPC instead. Default 2 ms: the head is usually there before the
   * engine's command has crossed the broker; when it is not, it can be tens of ms late (seen on Anvil under
   * load), and the catch-up by RPC (~2.5 ms over a WebSocket) is the shorter wait.
   */
  pushWaitMs?: number
  /**
   * The longest a cached answer is trusted without re-reading the registry; it also bounds how long a
   * cached answer serves while the node is unreachable. Default 60 s.
   */
  maxAgeMs?: number
  /** Where polling trouble is warned about; defaults to console.warn. */
  logger?: DeviceLogger | undefined
  /**
   * A client to read through instead of connecting to `rpcUrl`, shared by the devices of one process: they
   * then share one head subscription and one scan of the registry's logs per block.
   */
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
 * const answer: OperatorAnswer = await operators.check(signer, message)
 */
export type OperatorAnswer = 'operator' | 'not-operator' | 'rate-limited'

/**
 * Where a command sits on the chain, as it signed: `chainBlock`, the block that caused it (0 if none or
 * an older engine), and `chainTime`, that block's timestamp.
 *
 * @example
 * const at: CommandPlace = { chainBlock: message.chainBlock, chainTime: message.chainTime }
 */
export type CommandPlace = { chainBlock: number; chainTime: number }

/**
 * Whether a key may command this car, per DeviceRegistry. See {@link createOperatorCheck}.
 *
 * @example
 * if ((await operators.check(signer, message)) !== 'operator') refuse('unauthorized')
 */
export type OperatorCheck = {
  /**
   * Resolves whether `signer` is an operator of this car for a command placed at `at`: a command from a
   * block the car's view of the registry has not reached yet waits for it (or makes the car catch up by
   * RPC) first. Rejects with a RegistryReadError when the registry cannot be read and no fresh cached
   * answer exists.
   */
  check(signer: string, at: CommandPlace): Promise<OperatorAnswer>
  /**
   * Whether `signer` is cached as an operator of this car (whatever the answer's age): no RPC, for picking
   * the lane a command waits in. A true here is no authorization; {@link OperatorCheck.check} is.
   */
  isKnownOperator(signer: string): boolean
  /**
   * Whether {@link OperatorCheck.check} would answer `rate-limited` now, with no RPC and no signature
   * check: so that the car spends no public-key recovery on junk it would refuse anyway.
   */
  wouldRateLimit(signer: string, at: CommandPlace): boolean
  /** How many signers are cached now (never more than `maxCachedSigners`). */
  cachedSigners(): number
  /** The block the car's view of the registry has reached (null before the first head or scan). */
  viewBlock(): bigint | null
  close(): Promise<void>
}

/**
 * `allowed: null`: named in this car's OperatorAdded / OperatorRemoved logs since last read, so it must be
 * read again, and is not rate-limited (only the car's owner can put a signer in those logs).
 */
type Entry = { allowed: boolean | null; at: number }

/**
 * Reads `DeviceRegistry.isOperator(car, signer)` and caches the answer per signer, keeping the cache
 * current from the registry's `OperatorAdded` / `OperatorRemoved` logs for this car, which a
 * {@link RegistryWatcher} hands it block by block: pushed over a WebSocket (no RPC for a block whose bloom
 * shows no registry log), or polled over http. The cache answers for the view's block; a command is placed
 * against it by its signed block number (`chainBlock`; blocks can share a timestamp, so `chainTime` cannot
 * say whether the view covers the command's block). A command of a block the view covers, with a
 * `chainTime` not past the view's, is answered from memory; a newer one waits up to `pushWaitMs` for the
 * push, then reads up to the head by RPC; so does every command once the view is older than `maxAgeMs`,
 * and, with no block signed (`chainBlock` 0) or no heads pushed (over http), a command whose `chainTime`
 * is the view's or later, as before blocks were signed. So an operator removed in block N cannot command
 * the car with a command of block N or later: once the view reaches N the removal has invalidated the
 * signer, and before it does, such a command catches up first. Forged or mangled messages never get here
 * (the signature is checked first), so they cost no RPC.
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
 * await operators.check('0x3c44…', { chainBlock: 120, chainTime: 1760000000 }) // 'operator'
 * await operators.close()
 */
export function createOperatorCheck(options: OperatorCheckOptions): OperatorCheck {
  const { deviceId } = options
  const registry = options.registry.toLowerCase() as Address
  const maxAgeMs = options.maxAgeMs ?? 60_000
  const logger = options.logger ?? consoleDeviceLogger
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
  const pushWaitMs = options.pushWaitMs ?? 2
  // Insertion order is recency order: a hit moves the signer to the end.
  const cache = new Map<string, Entry>()
  // Bumped when a log or a reorg invalidates anything, so a read that started before stores no stale answer.
  let epoch = 0

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
  const { watcher, release } = acquireRegistryWatcher({
    client,
    shared: options.client !== undefined,
    rpcUrl: options.rpcUrl,
    registry,
    pollIntervalMs: options.pollIntervalMs ?? 2_000,
    logger: { warn: (message, fields) => logger.warn(message, { ...fields, deviceId }) },
  })
  const unsubscribe = watcher.subscribe(deviceId, {
    invalidate(signer) {
      epoch++
      remember(signer, { allowed: null, at: 0 })
    },
    reset() {
      // Nothing in the cache can be placed on the chain as it is now: the operators are read again first
      // thing (not rate-limited); strangers are simply forgotten.
      epoch++
      for (const [signer, cached] of [...cache]) {
        if (cached.allowed === false) cache.delete(signer)
        else cache.set(signer, { allowed: null, at: 0 })
      }
    },
  })
  // Whether the view may not describe the registry as of the command's block.
  const behind = (view: RegistryView | null, at: CommandPlace, now: number): boolean => {
    if (!view || now - view.at > maxAgeMs) return true
    // No block signed, or no heads pushed (the view moves only when a command or a poll moves it): only a
    // timestamp before the view's places the command before it, as before blocks were signed.
    if ((at.chainBlock === 0 || !watcher.live()) && BigInt(at.chainTime) >= view.timestamp) return true
    if (at.chainBlock === 0) return false
    // A timestamp past the view's with an old block is a lie or a bug; either way, read up to the head.
    return BigInt(at.chainBlock) > view.block || BigInt(at.chainTime) > view.timestamp
  }
  const catchUp = async (at: CommandPlace): Promise<RegistryView> => {
    const view = watcher.view()
    if (view && at.chainBlock !== 0 && Date.now() - view.at <= maxAgeMs) {
      // The head of the command's block is usually on its way: wait for it rather than ask for it.
      await watcher.reach(BigInt(at.chainBlock), pushWaitMs)
      const reached = watcher.view()
      if (reached && !behind(reached, at, Date.now())) return reached
    }
    return watcher.sync()
  }

  return {
    async check(signer, at) {
      const who = signer.toLowerCase()
      const known = cache.get(who)
      if (known) remember(who, known)
      // Operators, and signers this car's logs named, are never rate-limited; anyone else's RPC is.
      const trusted = known !== undefined && known.allowed !== false
      const now = Date.now()
      let current = watcher.view()
      const late = behind(current, at, now)
      if (!trusted) {
        // A stranger already refused, with a command of a block the view covers: the cache answers.
        if (known && !late && now - known.at <= maxAgeMs) return 'not-operator'
        if (!lookups.take()) return 'rate-limited'
      }
      let unreachable: unknown
      if (late) {
        try {
          current = await catchUp(at)
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
        // At the view's block, so the answer and the logs handed to the car describe the same state.
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
    wouldRateLimit(signer, at) {
      const known = cache.get(signer.toLowerCase())
      if (known !== undefined && known.allowed !== false) return false
      const now = Date.now()
      if (known && !behind(watcher.view(), at, now) && now - known.at <= maxAgeMs) return false
      return !lookups.has()
    },
    viewBlock: () => watcher.view()?.block ?? null,
    isKnownOperator: (signer) => cache.get(signer.toLowerCase())?.allowed === true,
    cachedSigners: () => cache.size,
    async close() {
      unsubscribe()
      await release()
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
