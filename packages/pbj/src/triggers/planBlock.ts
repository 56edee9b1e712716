import { type AbiEvent, decodeEventLog, getAddress, type Log } from 'viem'
import type { BlockHeader, ChainConnection } from '../chain/types.js'
import { stringifyJson } from '../internal/json.js'
import type { Logger } from '../internal/logger.js'
import type { BlockWrite, NewJob, Store, Timer } from '../store/types.js'
import { logIndexKey, type TriggerIndex } from './createTriggerIndex.js'
import { matchesArgs } from './matchesArgs.js'

/** What the trigger stage needs from the rest of the engine. */
export type PlanContext = {
  chainId: number
  index: TriggerIndex
  store: Store
  chain: ChainConnection
  /** Where decoding and condition failures are warned about. */
  logger: Pick<Logger, 'warn'>
}

/**
 * Works out everything one block causes: event runs, deadline timers set, cleared and due, conditions that
 * turned true, every-N-blocks runs. Reads only the block's logs, the timers due at its timestamp and the
 * conditions: the cost grows with what happens in the block, not with the number of keys watched.
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
  const base = { block: { number: block.number, hash: block.hash, timestamp: block.timestamp }, chainId }
  const job = (functionName: string, source: string, input: Record<string, unknown>) => {
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
  }

  // Timers as they stand after this block's events: store's due timers, then this block's changes on top.
  const timers = new Map<string, Timer | null>()
  for (const log of logs) {
    const topic0 = log.topics[0]
    if (!topic0) continue
    const targets = index.byLog.get(logIndexKey(log.address, topic0))
    if (!targets) continue
    // Each log is decoded at most once per event (the index shares equal events between functions), and
    // not at all when every target reads its key and time straight from the log.
    const decoded = new Map<AbiEvent, Record<string, unknown> | null>()
    const decode = (event: AbiEvent) => {
      if (decoded.has(event)) return decoded.get(event) ?? null
      let args: Record<string, unknown> | null = null
      try {
        args = decodeEventLog({ abi: [event], data: log.data, topics: log.topics }).args as Record<
          string,
          unknown
        >
      } catch (error) {
        ctx.logger.warn(
          `Block ${block.number}: log ${log.logIndex} does not decode as ${event.name}: ${error}`,
          {
            blockNumber: block.number,
            logIndex: log.logIndex,
            event: event.name,
          },
        )
      }
      decoded.set(event, args)
      return args
    }
    for (const target of targets) {
      if (target.kind === 'event') {
        const args = decode(target.event)
        if (!args || !matchesArgs(args, target.args)) continue
        job(target.functionName, `log${log.logIndex}`, {
          event: {
            name: target.event.name,
            args,
            // RPC logs carry lowercase addresses; checksum them like the decoded args and the config's.
            address: getAddress(log.address),
            logIndex: log.logIndex,
            transactionHash: log.transactionHash,
          },
        })
        continue
      }
      let keyValue = target.readKey?.(log)
      let atValue = target.kind === 'deadline-set' ? target.readAt?.(log) : undefined
      if (keyValue === undefined || (target.kind === 'deadline-set' && atValue === undefined)) {
        const args = decode(target.event)
        if (!args) continue
        keyValue = args[target.key] as bigint | string
        if (target.kind === 'deadline-set') atValue = args[target.at] as bigint
      }
      const key = String(keyValue)
      const id = `${target.functionName}:${key}`
      if (target.kind === 'deadline-clear') timers.set(id, null)
      else timers.set(id, { id, functionName: target.functionName, key, at: BigInt(atValue as bigint) })
    }
  }
  const timersSet = [...timers.values()].filter((t): t is Timer => t !== null)
  const timersCleared = [...timers.entries()].filter(([, t]) => t === null).map(([id]) => id)

  const due = new Map<string, Timer>()
  for (const t of await ctx.store.dueTimers(block.timestamp)) if (!timers.has(t.id)) due.set(t.id, t)
  for (const t of timersSet) if (t.at <= block.timestamp) due.set(t.id, t)
  const schedules = new Map(index.schedules.map((s) => [s.functionName, s]))
  for (const t of due.values()) {
    const schedule = schedules.get(t.functionName)
    if (schedule) job(t.functionName, `timer:${t.id}:${t.at}`, { schedule: { at: t.at } })
    else job(t.functionName, `timer:${t.id}`, { deadline: { key: t.key, at: t.at } })
    const setIndex = timersSet.findIndex((s) => s.id === t.id)
    if (setIndex >= 0) timersSet.splice(setIndex, 1)
    if (schedule?.every) {
      const every = BigInt(schedule.every)
      const next = t.at + every * ((block.timestamp - t.at) / every + 1n)
      timersSet.push({ ...t, at: next })
    } else if (!timersCleared.includes(t.id)) timersCleared.push(t.id)
  }

  for (const b of index.blocks) if (block.number % BigInt(b.every) === 0n) job(b.functionName, 'blocks', {})

  const conditions = await evaluateConditions(ctx, block)
  for (const c of conditions)
    if (c.fired) job(c.functionName, 'condition', { condition: { value: c.result } })

  return {
    block,
    jobs,
    timersSet,
    timersCleared,
    conditions: conditions.map(({ id, value }) => ({ id, value })),
  }
}

async function evaluateConditions(ctx: PlanContext, block: BlockHeader) {
  const active = ctx.index.conditions.filter((c) => block.number % BigInt(c.trigger.everyBlocks ?? 1) === 0n)
  if (active.length === 0) return []
  const previous = await ctx.store.getConditions(active.map((c) => c.id))
  const results = await Promise.all(
    active.map(async (c) => {
      try {
        const result = await ctx.chain.readContract({
          address: c.address,
          abi: c.trigger.abi,
          functionName: c.trigger.functionName,
          args: c.trigger.args ?? [],
          blockNumber: block.number,
        })
        const value = Boolean(result)
        return { id: c.id, functionName: c.functionName, value, result, fired: value && !previous.get(c.id) }
      } catch (error) {
        ctx.logger.warn(`Condition of '${c.functionName}' failed at block ${block.number}: ${error}`, {
          functionName: c.functionName,
          blockNumber: block.number,
        })
        return null
      }
    }),
  )
  return results.filter((r) => r !== null)
}
