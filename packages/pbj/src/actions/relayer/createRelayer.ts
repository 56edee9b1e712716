import { createKeyedLock } from '@pbj/internal/createKeyedLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { type Address, getAddress, type Hex, isAddress, type LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { classifyRpcError } from '../../chain/classifyRpcError.js'
import { createRpcPool } from '../../chain/createRpcPool.js'
import type { RelayedTx, RelayedTxStore } from '../../core/relayedTx.js'
import { createEmitter, type Emitter } from '../../internal/createEmitter.js'
import { type Logger, silentLogger } from '../../internal/logger.js'
import { broadcastRelayedTx } from './broadcastRelayedTx.js'
import type { Fees } from './bumpFees.js'
import { createNonceManager } from './createNonceManager.js'
import { createRelayerRpc, type RpcRequest } from './createRelayerRpc.js'
import { type RelayerContext, signRelayedTx } from './relayerContext.js'
import { RelayerClosedError, RelayerRpcError, TxRejectedError, TxWouldFailError } from './relayerErrors.js'
import { trackRelayedTxs } from './trackRelayedTxs.js'
import type { RelayerEvents, SendRequest, SendResult } from './types.js'

export type RelayerOptions = {
  /** A JSON-RPC request function (e.g. an RPC pool's), or RPC URLs in order of preference. */
  rpc: RpcRequest | string | readonly string[]
  /** Where records live: the engine's store (`relayedTxs`). */
  store: { relayedTxs: RelayedTxStore }
  /** The operator's private key, or a viem local account. */
  account: Hex | LocalAccount
  chainId: number
  /** Blocks a pending transaction may wait before it is replaced with fees bumped ≥ 12.5 % (default 3). */
  stuckBlocks?: number
  /** Blocks an `instant` transaction stays watched for reorgs unless finalized sooner (default 64). */
  finalityDepth?: number
  /** How often the tracker runs without being poked (ms, default 1,000). */
  pollingIntervalMs?: number
  /** Least time between two re-broadcasts of one transaction (ms, default 2,000). */
  rebroadcastMs?: number
  /** Margin added to gas estimates, in percent (default 20). */
  gasMarginPercent?: number
  /** Fee cap = latest base fee × this + priority fee (default 2). */
  baseFeeMultiplier?: number
  /** Replacements never raise the fee cap above this (wei per gas). */
  maxFeePerGas?: bigint
  /** Where refused, unsent and stuck transactions are warned about. Default: silent. */
  logger?: Pick<Logger, 'warn'> | undefined
  /** Test seam: runs before every broadcast; a throw aborts it, as a crash would. */
  hooks?: RelayerContext['hooks']
}

/** A running relayer for one operator account. */
export type Relayer = {
  address: Address
  events: Emitter<RelayerEvents>
  /**
   * Sends a transaction once per idempotency key. The intent is allocated a nonce, signed and recorded
   * before it is broadcast; a key already recorded returns its transaction (re-broadcasting it if no
   * node has taken it yet), never a second one. Resolves once a node has answered the first broadcast,
   * not when the transaction is mined: the tracker follows it from there.
   *
   * @throws TxRefusedError when the call reverts in its gas estimate or nodes refuse it for good.
   * @throws RpcError when the chain cannot be reached before the intent is recorded.
   */
  send(request: SendRequest): Promise<SendResult>
  get(key: string): Promise<RelayedTx | null>
  /** Starts the tracker: a pass now (broadcasting what a crash left signed), then every polling interval. */
  start(): void
  /** Asks for a tracker pass soon (the engine calls it on every block, with the block's number). */
  poke(head?: bigint): void
  /** Runs a tracker pass and resolves when it is done (one already running is followed by another). */
  tick(): Promise<void>
  /** Stops the tracker and waits for sends and the pass in flight. The store stays open. */
  close(): Promise<void>
}

/**
 * Relays transactions from one operator account: nonces allocated in process (a mutex, no RPC round trip
 * per send) and recovered from the chain when it disagrees, EIP-1559 fees, replacement of stuck
 * transactions, re-broadcast of dropped ones, gap filling, receipts followed through reorgs to each
 * transaction's confirmation mode, and idempotency keys recorded durably before anything is broadcast.
 *
 * @example
 * const relayer = createRelayer({ rpc: 'http://127.0.0.1:8545', store, account: operatorKey, chainId: 31337 })
 * relayer.start()
 * const { txHash, nonce } = await relayer.send({ idempotencyKey: `${job.id}:w0`, to: token, data })
 */
export function createRelayer(options: RelayerOptions): Relayer {
  const pool =
    typeof options.rpc === 'function'
      ? null
      : createRpcPool(typeof options.rpc === 'string' ? [options.rpc] : options.rpc)
  const request: RpcRequest =
    typeof options.rpc === 'function'
      ? options.rpc
      : (method, params) => (pool as NonNullable<typeof pool>).request(method, params)
  const account = typeof options.account === 'string' ? privateKeyToAccount(options.account) : options.account
  const sender = getAddress(account.address)
  const rpc = createRelayerRpc(request, {
    chainId: options.chainId,
    ...(options.baseFeeMultiplier === undefined ? {} : { baseFeeMultiplier: options.baseFeeMultiplier }),
  })
  const events = createEmitter<RelayerEvents>()
  const txs = options.store.relayedTxs
  const nonces = createNonceManager()

  let feeCache: { head: bigint | null; at: number; fees: Promise<Fees> } | null = null
  const keyLocks = createKeyedLock<string>()
  let started = false
  let closed = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | null = null
  let again = false

  const ctx: RelayerContext = {
    chainId: options.chainId,
    account,
    sender,
    rpc,
    txs,
    nonces,
    events,
    logger: options.logger ?? silentLogger,
    fees() {
      // Cached per head and for a second: a burst of sends asks once; a new block asks again.
      if (!feeCache || feeCache.head !== ctx.head || Date.now() - feeCache.at > 1_000) {
        const fees = rpc.fees()
        const entry = { head: ctx.head, at: Date.now(), fees }
        feeCache = entry
        fees.catch(() => {
          if (feeCache === entry) feeCache = null
        })
      }
      return feeCache.fees
    },
    withKey: (key, fn) => keyLocks.run(key, fn),
    head: null,
    trackedHead: null,
    resync: false,
    lastBroadcast: new Map(),
    usedNonceSeen: new Map(),
    wake: () => {
      if (started && !closed) void runTick()
    },
    options: {
      stuckBlocks: options.stuckBlocks ?? 3,
      finalityDepth: options.finalityDepth ?? 64,
      rebroadcastMs: options.rebroadcastMs ?? 2_000,
      maxFeePerGas: options.maxFeePerGas,
    },
    hooks: options.hooks ?? {},
  }

  const runTick = (): Promise<void> => {
    if (closed) return Promise.resolve()
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        try {
          await trackRelayedTxs(ctx)
        } catch (error) {
          events.emit('error', error)
        }
      } while (again && !closed)
    })().finally(() => {
      running = null
    })
    return running
  }

  const toResult = (tx: RelayedTx): SendResult => ({
    key: tx.key,
    txHash: tx.hash,
    nonce: tx.nonce,
    status: tx.status,
  })

  const estimateGas = async (to: Address, data: Hex, value: bigint) => {
    try {
      const estimate = await rpc.estimateGas({ from: sender, to, data, value })
      return estimate + (estimate * BigInt(options.gasMarginPercent ?? 20)) / 100n
    } catch (error) {
      const message = messageOf(error, { firstLine: true })
      if (classifyRpcError(error) === 'answer') {
        throw new TxWouldFailError({ to, message, cause: error })
      }
      throw new RelayerRpcError({ what: 'gas', to, message, cause: error })
    }
  }

  /** Allocates a nonce, signs and records the intent, under the allocation lock. */
  const record = async (req: SendRequest, gas: bigint, fees: Fees) =>
    nonces.locked(async () => {
      const existing = await txs.get(req.idempotencyKey)
      if (existing) return existing
      if (!nonces.synced() || ctx.resync) {
        // At start, and after an idle spell: the chain's pending count, and above any record in flight
        // (a crash may have left some). With none in flight the counter may also move back to the chain
        // (records that gave their nonce up, or a chain that went back): OZ Relayer #818.
        ctx.resync = false
        const open = (await txs.open(options.chainId, sender)).filter(
          (t) => t.status === 'signed' || t.status === 'pending',
        )
        const highest = open.reduce<number | null>((h, t) => (h === null || t.nonce > h ? t.nonce : h), null)
        const pending = await rpc.nonceAt(sender, 'pending')
        nonces.sync(pending, highest)
        if (highest === null) nonces.rewind(pending)
      }
      const nonce = nonces.take()
      try {
        const body = {
          nonce,
          to: getAddress(req.to),
          data: req.data ?? '0x',
          value: req.value ?? 0n,
          gas,
          ...fees,
        }
        const signed = await signRelayedTx(ctx, body)
        return await txs.insert({
          ...body,
          key: req.idempotencyKey,
          kind: 'intent',
          chainId: options.chainId,
          sender,
          hash: signed.hash,
          raw: signed.raw,
          status: 'signed',
          confirmation: req.confirmation ?? 'instant',
          attempts: 1,
          createdAt: Date.now(),
          sentAt: null,
          sentBlock: null,
          minedAt: null,
          receipt: null,
          final: false,
          error: null,
        })
      } catch (error) {
        nonces.giveBack(nonce)
        throw error
      }
    })

  const doSend = async (req: SendRequest): Promise<SendResult> => {
    let tx = await txs.get(req.idempotencyKey)
    let fresh = false
    if (!tx) {
      const data = req.data ?? '0x'
      const [gas, fees] = await Promise.all([
        req.gas ?? estimateGas(req.to, data, req.value ?? 0n),
        ctx.fees().catch((error: unknown) => {
          throw new RelayerRpcError({ what: 'fees', cause: error })
        }),
      ])
      tx = await record(req, gas, fees)
      fresh = true
    }
    if (tx.status === 'signed') {
      const signed = tx
      tx = await ctx.withKey(signed.key, async () => {
        const current = (await txs.get(signed.key)) ?? signed
        return current.status === 'signed' ? broadcastRelayedTx(ctx, current, !fresh) : current
      })
    }
    if (tx.status === 'failed' && tx.kind === 'intent') {
      throw new TxRejectedError({ idempotencyKey: req.idempotencyKey, error: tx.error })
    }
    return toResult(tx)
  }

  const sending = new Map<string, Promise<SendResult>>()
  return {
    address: sender,
    events,
    send(req) {
      if (typeof req.idempotencyKey !== 'string' || req.idempotencyKey.length === 0)
        return Promise.reject(new TypeError('relayer.send needs an idempotencyKey'))
      if (!isAddress(req.to, { strict: false }))
        return Promise.reject(new TypeError(`relayer.send: to must be an address; got ${String(req.to)}`))
      if (closed) return Promise.reject(new RelayerClosedError())
      // Concurrent sends of one key share one attempt: the second must not race the first to the store.
      const inFlight = sending.get(req.idempotencyKey)
      if (inFlight) return inFlight
      const p = doSend(req).finally(() => sending.delete(req.idempotencyKey))
      sending.set(req.idempotencyKey, p)
      return p
    },
    get: (key) => txs.get(key),
    start() {
      if (started || closed) return
      started = true
      timer = setInterval(() => void runTick(), options.pollingIntervalMs ?? 1_000)
      timer.unref()
      void runTick()
    },
    poke(head) {
      // The engine's head saves the tracker a request, and dates sends made before its next pass.
      if (head !== undefined && (ctx.head === null || head > ctx.head)) ctx.head = head
      ctx.wake()
    },
    tick: () => runTick(),
    async close() {
      closed = true
      clearInterval(timer)
      await Promise.allSettled([...sending.values()])
      await running
      await pool?.close()
    },
  }
}
