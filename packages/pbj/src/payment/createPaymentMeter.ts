import { executionBalanceAbi } from '@pbj/contracts'
import { messageOf } from '@pbj/internal/messageOf.js'
import { type Address, encodeFunctionData, type Hex } from 'viem'
import type { Relayer } from '../actions/relayer/createRelayer.js'
import type { ChainConnection } from '../chain/types.js'
import type { Job } from '../core/job.js'
import type { Run } from '../core/run.js'
import type { Store } from '../core/store.js'
import type { Settlement, UsageRow } from '../core/usage.js'
import { MissingConfigError } from '../internal/errors.js'
import type { Logger } from '../internal/logger.js'
import type { Queue } from '../queue/types.js'
import { formatTusd } from './formatTusd.js'
import { DEMO_ETH_PRICE_MICROS, priceRun } from './priceRun.js'
import type { Prices } from './types.js'
import { usageRoot } from './usageRoot.js'

/** Prepaid execution for one project (engine option `payment`). */
export type PaymentOptions = {
  /** The ExecutionBalance contract (its `operator` must be the engine's operator key). */
  contract: Address
  /** The project's bytes32 id on ExecutionBalance. */
  projectId: Hex
  /** Settle when this many runs are unsettled, or when the oldest unsettled run is this old (ms). */
  settleEvery?: { runs?: number | undefined; ms?: number | undefined } | undefined
  /** tUSD micros per ETH for the gas pbj paid; default {@link DEMO_ETH_PRICE_MICROS} ($3,000). */
  ethPriceMicros?: bigint | undefined
}

/** What a run used besides its duration, counted by runJob from the run's host calls. */
export type RunCounts = { deviceMessages: number; writes: number }

/** The engine's meter: admits or holds jobs, records each run's cost, and settles batches on chain. */
export type PaymentMeter = {
  /** Reads the balance and prices; re-sends a settlement a crash left in flight. */
  start(): Promise<void>
  /** False (and the job is `held`, with its reason and a warning) when the balance cannot pay a run. */
  admit(job: Job): Promise<boolean>
  /** An admitted job did not run after all (orphaned by a reorg before it started). */
  abandon(): void
  /** Records the run's usage and cost; settles when a batch is full. */
  meter(job: Job, run: Run, counts: RunCounts): Promise<UsageRow>
  /** Re-reads the balance (every block), follows the settlement in flight, and resumes held jobs. */
  refresh(): Promise<void>
  /** Sends the unsettled usage the balance covers as one batch (or follows the one in flight). */
  settle(): Promise<Omit<Settlement, 'minedAt'> | null>
  /** The on-chain balance, unsettled usage and what is left (token units), and the prices. */
  status(): { balance: bigint; unsettled: bigint; available: bigint; prices: Prices }
}

/** What the meter uses: usage rows and held jobs, balance reads, the relayer that settles, warnings. */
export type PaymentServices = {
  store: Pick<Store, 'usage' | 'listJobs' | 'setJobStatus' | 'relayedTxs'>
  chain: Pick<ChainConnection, 'readContract' | 'getHeader'>
  /** Sends settlements from the operator account (the contract's operator). */
  relayer: Pick<Relayer, 'send' | 'get'> | null
  queue: Pick<Queue, 'push'>
  logger: Pick<Logger, 'warn'>
}

const zeroPrices: Prices = { perRunMicros: 0n, perMsMicros: 0n, perDeviceMessageMicros: 0n, gasMarkupBps: 0n }
const MAX_BATCH = 500

/**
 * Meters runs against a project's ExecutionBalance. Available = the balance read on chain (at start and
 * every block, which catches deposits, withdrawals and settlements) − unsettled usage − a run's price for
 * each run in flight. A job that finds less than one run's price is held, never dropped, and queued again
 * once the balance covers it. Compensations (`onReorg`) are never held: undoing a reorged action (an unlock)
 * must not wait for money.
 *
 * @example
 * const payment = createPaymentMeter(services, { contract, projectId, settleEvery: { runs: 10 } })
 * await payment.start()
 * if (await payment.admit(job)) { ...run...; await payment.meter(job, run, counts) }
 */
export function createPaymentMeter(services: PaymentServices, options: PaymentOptions): PaymentMeter {
  const { store } = services
  const ethPrice = options.ethPriceMicros ?? DEMO_ETH_PRICE_MICROS
  const everyRuns = options.settleEvery?.runs ?? 100
  const everyMs = options.settleEvery?.ms ?? 60_000
  let balance = 0n
  let unsettled = 0n
  let unsettledCount = 0
  let oldestUnsettledAt: number | null = null
  let prices = zeroPrices
  let inFlight = 0
  let heldCount = 0
  let settling: Promise<Omit<Settlement, 'minedAt'> | null> | null = null
  let refreshing: Promise<void> | null = null

  const available = () => balance - unsettled - prices.perRunMicros * BigInt(inFlight)
  const read = (functionName: 'balanceOf' | 'prices') =>
    services.chain.readContract({
      address: options.contract,
      abi: executionBalanceAbi,
      functionName,
      args: functionName === 'balanceOf' ? [options.projectId] : [],
    })
  const readChain = async () => {
    const [b, p] = await Promise.all([read('balanceOf'), read('prices')])
    balance = b as bigint
    prices = p as Prices
  }
  const loadUnsettled = async () => {
    const rows = await store.usage.unsettled()
    unsettled = rows.reduce((sum, r) => sum + r.amount, 0n)
    unsettledCount = rows.length
    oldestUnsettledAt = rows[0]?.at ?? null
  }
  const reason = () =>
    `execution balance ${formatTusd(available() > 0n ? available() : 0n)} tUSD: deposit to ExecutionBalance for project ${options.projectId}`

  /** Follows the settlement in flight: marks its rows once its transaction succeeded. */
  const follow = async (s: Omit<Settlement, 'minedAt'>) => {
    const relayer = services.relayer
    if (!relayer) return 'pending' as const
    const tx = await relayer.get(s.key)
    if (!tx) return 'missing' as const
    if (tx.status === 'failed' || tx.receipt?.status === 'reverted') {
      await store.usage.dropSettlement(s.key)
      services.logger.warn(`payment: settlement ${s.key} failed (${tx.error ?? 'reverted'}); retrying`, {
        settlement: s.key,
      })
      return 'dropped' as const
    }
    if (tx.receipt?.status !== 'success') return 'pending' as const
    // Balance first, then the rows: in between, the batch counts twice (available understated, never over).
    await readChain()
    await store.usage.markSettled(s.key, Date.now())
    await loadUnsettled()
    return 'settled' as const
  }

  const send = async (s: Omit<Settlement, 'minedAt'>) => {
    const relayer = services.relayer
    if (!relayer)
      throw new MissingConfigError({
        field: 'operatorKey',
        message: 'payment: settling needs the engine’s operator key',
      })
    await relayer.send({
      idempotencyKey: s.key,
      to: options.contract,
      data: encodeFunctionData({
        abi: executionBalanceAbi,
        functionName: 'settle',
        args: [options.projectId, s.amount, s.usageRoot, BigInt(s.fromSeq), BigInt(s.toSeq)],
      }),
    })
  }

  const doSettle = async (): Promise<Omit<Settlement, 'minedAt'> | null> => {
    const open = (await store.usage.settlements()).find((s) => s.minedAt === null)
    if (open) {
      const state = await follow(open)
      if (state === 'missing') await send(open)
      if (state !== 'dropped') return open
    }
    const rows = await store.usage.unsettled(MAX_BATCH)
    // Only what the balance covers: a batch above it would revert (InsufficientBalance).
    const batch: UsageRow[] = []
    let amount = 0n
    for (const r of rows) {
      if (amount + r.amount > balance) break
      batch.push(r)
      amount += r.amount
    }
    const first = batch[0]
    const last = batch.at(-1)
    if (!first || !last) return null
    const head = await services.chain.getHeader('latest')
    const settlement = {
      // The head makes a retry after a revert a new intent; a crash re-sends the recorded key.
      key: `settle:${options.projectId}:${first.seq}-${last.seq}@${head.number}`,
      projectId: options.projectId,
      fromSeq: first.seq,
      toSeq: last.seq,
      amount,
      usageRoot: usageRoot(batch),
      at: Date.now(),
    }
    await store.usage.addSettlement(settlement)
    try {
      await send(settlement)
    } catch (error) {
      await store.usage.dropSettlement(settlement.key)
      throw error
    }
    return settlement
  }

  const settle = () => {
    settling ??= doSettle().finally(() => {
      settling = null
    })
    return settling
  }
  const settleQuietly = () =>
    void settle().catch((error) =>
      services.logger.warn(`payment: settlement not sent: ${messageOf(error, { firstLine: true })}`),
    )

  const releaseHeld = async () => {
    const held = await store.listJobs({ status: ['held'], limit: 10_000 })
    heldCount = 0
    const jobs = held.sort((a, b) =>
      a.blockNumber < b.blockNumber ? -1 : a.blockNumber > b.blockNumber ? 1 : 0,
    )
    for (const j of jobs) await store.setJobStatus(j.id, 'pending', { runAfter: 0 })
    services.queue.push(jobs.map((j) => ({ ...j, status: 'pending' as const, runAfter: 0 })))
  }

  const doRefresh = async () => {
    await readChain()
    const open = (await store.usage.settlements()).find((s) => s.minedAt === null)
    if (open) await follow(open)
    if (available() >= prices.perRunMicros && (heldCount > 0 || (await hasHeld()))) await releaseHeld()
    const due = oldestUnsettledAt !== null && Date.now() - oldestUnsettledAt >= everyMs
    if (!open && unsettledCount > 0 && (due || unsettledCount >= everyRuns)) settleQuietly()
  }
  const hasHeld = async () => (await store.listJobs({ status: ['held'], limit: 1 })).length > 0

  return {
    async start() {
      await readChain()
      await loadUnsettled()
      const open = (await store.usage.settlements()).find((s) => s.minedAt === null)
      if (open && (await follow(open)) === 'missing') await send(open)
    },
    async admit(job) {
      if (job.entry === 'onReorg' || available() >= prices.perRunMicros) {
        inFlight++
        return true
      }
      const why = reason()
      heldCount++
      await store.setJobStatus(job.id, 'held', { lastError: why })
      services.logger.warn(`${job.functionName}: run held: ${why}`, {
        functionName: job.functionName,
        jobId: job.id,
      })
      return false
    },
    abandon() {
      inFlight = Math.max(0, inFlight - 1)
    },
    async meter(job, run, counts) {
      inFlight = Math.max(0, inFlight - 1)
      let gasWei = 0n
      for (let i = 0; i < counts.writes && services.relayer; i++) {
        const tx = await store.relayedTxs.get(`${job.id}:w${i}`)
        // Only transactions this attempt created: a retried run finds its earlier ones and pays them once.
        if (!tx || tx.createdAt < Math.floor(run.startedAt)) continue
        gasWei += tx.receipt ? tx.receipt.gasUsed * tx.receipt.effectiveGasPrice : tx.gas * tx.maxFeePerGas
      }
      const durationMs = run.durationMs ?? 0
      const amount = priceRun(prices, { durationMs, deviceMessages: counts.deviceMessages, gasWei }, ethPrice)
      const row = await store.usage.record({
        runId: run.id,
        jobId: job.id,
        functionName: job.functionName,
        durationMs,
        deviceMessages: counts.deviceMessages,
        gasWei,
        amount,
        at: Date.now(),
      })
      await loadUnsettled()
      if (unsettledCount >= everyRuns) settleQuietly()
      return row
    },
    refresh() {
      refreshing ??= doRefresh().finally(() => {
        refreshing = null
      })
      return refreshing
    },
    settle,
    status: () => ({ balance, unsettled, available: available(), prices }),
  }
}
