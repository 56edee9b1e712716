import { type AbiEvent, decodeEventLog, type Log } from 'viem'
import type { ChainConnection } from '../chain/types.js'
import type { BlockHeader } from '../core/block.js'
import type { BlockWrite } from '../core/blockWrite.js'
import type { NewJob } from '../core/job.js'
import type { Timer } from '../core/timer.js'
import { stringifyJson } from '../internal/json.js'
import type { Logger } from '../internal/logger.js'
import { logIndexKey, type TriggerIndex } from './createTriggerIndex.js'
import type { BlockPlan, DecodeLog, PlanStore } from './defineTriggerKind.js'
import { fireDeadline } from './kinds/deadline.js'

/** What the trigger stage needs from the rest of the engine. */
export type PlanContext = {
  chainId: number
  index: TriggerIndex
  store: PlanStore
  chain: ChainConnection
  /** Where decoding and condition failures are warned about. */
  logger: Pick<Logger, 'warn'>
}

/**
 * Works out everything one block causes, in three passes over the index the kinds built: the block's logs
 * (event runs, deadline timers set and cleared), the timers due at its timestamp (deadlines, schedules),
 * then each kind's per-block work (every-N-blocks runs, conditions that turned true). Reads only the
 * block's logs, the timers due at its timestamp and the conditions: the cost grows with what happens in the
 * block, not with the number of keys watched.
 *
 * @example
 * const write = await planBlock(ctx, header, logs)
 * await store.commitBlock(chainId, write)
 */
export async function planBlock(
  ctx: PlanContext,
  block: BlockHeader,
  logs: readonly Log[],
): Promise<BlockWrite> {
  const { chainId, index } = ctx
  const jobs: NewJob[] = []
  const conditions: BlockWrite['conditions'] = []
  // Timers as they stand after this block's events: store's due timers, then this block's changes on top.
  const timers = new Map<string, Timer | null>()
  const base = { block: { number: block.number, hash: block.hash, timestamp: block.timestamp }, chainId }
  const plan: BlockPlan = {
    block,
    store: ctx.store,
    chain: ctx.chain,
    warn: (message) => ctx.logger.warn(message, { blockNumber: block.number }),
    job(functionName, source, input) {
      const confirmations = index.confirmations.get(functionName) ?? 0
      jobs.push({
        id: `${chainId}:${block.hash}:${source}:${functionName}`,
        functionName,
        entry: 'handler',
        input: stringifyJson({ ...base, ...input }),
        blockNumber: block.number,
        blockHash: block.hash,
        readyAt: confirmations === 'finalized' ? null : block.number + BigInt(confirmations),
      })
    },
    setTimer: (timer) => timers.set(timer.id, timer),
    clearTimer: (id) => timers.set(id, null),
    setCondition: (id, value) => conditions.push({ id, value }),
  }

  for (const log of logs) {
    const topic0 = log.topics[0]
    if (!topic0) continue
    const targets = index.byLog.get(logIndexKey(log.address, topic0))
    if (!targets) continue
    // Each log is decoded at most once per event (the index shares equal events between functions), and
    // not at all when every target reads what it needs straight from the log (then no map is made either:
    // a catch-up plans a thousand logs a block).
    let decoded: Map<AbiEvent, Record<string, unknown> | null> | undefined
    const decode: DecodeLog = (event) => {
      decoded ??= new Map()
      if (decoded.has(event)) return decoded.get(event) ?? null
      let args: Record<string, unknown> | null = null
      try {
        args = decodeEventLog({ abi: [event], data: log.data, topics: log.topics }).args as Record<
          string,
          unknown
        >
      } catch (error) {
        plan.warn(`Block ${block.number}: log ${log.logIndex} does not decode as ${event.name}: ${error}`)
      }
      decoded.set(event, args)
      return args
    }
    for (const onLog of targets) onLog(log, decode, plan)
  }

  const due = new Map<string, Timer>()
  for (const t of await ctx.store.dueTimers(block.timestamp)) if (!timers.has(t.id)) due.set(t.id, t)
  for (const t of timers.values()) if (t !== null && t.at <= block.timestamp) due.set(t.id, t)
  for (const t of due.values()) {
    // A timer of a function no longer indexed (removed, or now of another kind) fires once like a
    // deadline's and is dropped: its run fails as not loaded instead of the timer staying due forever.
    const { source, input, next } = (index.timers.get(t.functionName) ?? fireDeadline)(t, block)
    plan.job(t.functionName, source, input)
    // Fired: re-armed at `next`, or gone. Kept in the map rather than searched for in lists: a block caught
    // up after downtime can set thousands of timers and find thousands due.
    timers.set(t.id, next === undefined ? null : { ...t, at: next })
  }
  const timersSet: Timer[] = []
  const timersCleared: string[] = []
  for (const [id, t] of timers) {
    if (t === null) timersCleared.push(id)
    else timersSet.push(t)
  }

  for (const perBlock of index.perBlock) await perBlock(plan)
  return { block, jobs, timersSet, timersCleared, conditions }
}
