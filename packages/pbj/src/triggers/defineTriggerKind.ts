import type { AbiEvent, Address, Log } from 'viem'
import type { z } from 'zod'
import type { ChainConnection } from '../chain/types.js'
import type { BlockHeader } from '../core/block.js'
import type { Timer } from '../core/timer.js'
import type { ContractRef, Trigger } from '../function/triggers.js'
import type { TriggerIssue } from './abiNames.js'

/** A function as the trigger stage sees it. */
export type TriggeredFunction<trigger extends Trigger = Trigger> = { name: string; trigger: trigger }

/** What planning reads from the store: the timers due, and the conditions' values at the block before. */
export type PlanStore = {
  dueTimers(timestamp: bigint): Promise<Timer[]>
  getConditions(ids: string[]): Promise<Map<string, boolean>>
}

/** One block being planned, as a kind's planner sees it. */
export type BlockPlan = {
  block: BlockHeader
  store: PlanStore
  chain: ChainConnection
  /** Reports a problem that skips one trigger in this block, not the block. */
  warn(message: string): void
  /**
   * Adds a run of `functionName` for this block. `source` tells this block's runs of the function apart
   * (a log, a timer, …): the job id is `chainId:blockHash:source:functionName`, so a block planned twice
   * makes the same jobs. `input` is merged over `{ block, chainId }`.
   */
  job(functionName: string, source: string, input: Record<string, unknown>): void
  /**
   * (Re)arms a chain-time timer from a log handler; it fires in the first block whose timestamp reaches
   * `timer.at` (this one, if it already has). The last change to an id in a block wins.
   */
  setTimer(timer: Timer): void
  /** Disarms the timer with that id, from a log handler. */
  clearTimer(id: string): void
  /** Records a condition's value at this block, so the next block can tell when it turns true. */
  setCondition(id: string, value: boolean): void
}

/** Decodes the current log as `event` (once per event and log), or null after a warning. */
export type DecodeLog = (event: AbiEvent) => Record<string, unknown> | null

/** What a watched log does, called for each log of the watched address and event, in log order. */
export type OnLog = (log: Log, decode: DecodeLog, plan: BlockPlan) => void

/**
 * What a due timer runs: the job's source and input, and when the timer fires next (none: it is cleared).
 */
export type OnDue = (
  timer: Timer,
  block: BlockHeader,
) => { source: string; input: Record<string, unknown>; next?: bigint }

/** A timer armed at start-up unless the store has it (see `armSchedules` in the engine). */
export type StartTimer = { functionName: string; at: number | undefined; every: number | undefined }

/** What a kind may ask of the index while its functions are indexed. */
export type IndexTools = {
  /** Addresses of the config's contracts, by name. */
  contracts: Readonly<Record<string, Address>>
  /** Turns a trigger's `contract` into addresses (a name from the config, an address or a list). */
  resolve(contract: ContractRef, functionName: string): Address[]
  /**
   * The event of that name in `abi`, shared with every function that watches an equal event so a log is
   * decoded once for all of them.
   * @throws FunctionBuildError when the abi has no such event.
   */
  findEvent(abi: readonly unknown[], name: string, functionName: string): AbiEvent
  /** Calls `onLog` for each log `event` emits at one of `addresses`. */
  watch(addresses: readonly Address[], event: AbiEvent, onLog: OnLog): void
  /** Says what the function's due timers run. */
  onDue(functionName: string, onDue: OnDue): void
  /** Asks the engine to arm the function's first timer when it starts. */
  armAtStart(timer: StartTimer): void
}

/** Work a kind does in every block, after the logs and the due timers. */
export type PlanBlock = (plan: BlockPlan) => void | Promise<void>

/**
 * Everything about one trigger kind: how its `trigger` is validated, how its functions are indexed, and
 * what it plans for a block. The table in `triggerKinds.ts` lists the kinds; the trigger schema,
 * `checkTriggerAbi`, `createTriggerIndex` and `planBlock` iterate it.
 */
export type TriggerKind<trigger extends Trigger = Trigger> = {
  type: trigger['type']
  /** The trigger's shape, a zod object whose `type` is the literal `type`. */
  schema: z.core.$ZodTypeDiscriminable
  /** How to write one, for the hint of a validation error: `trigger: { type: 'blocks', every: 10 }`. */
  example: string
  /** Checks the names the trigger takes from its ABI (events, args, functions) once its shape is valid. */
  checkAbi?(trigger: trigger): TriggerIssue[]
  /**
   * Indexes the functions of this kind (all at once, in load order): watches logs, claims timers, and
   * returns what the kind does in every block, if anything.
   */
  index(functions: readonly TriggeredFunction<trigger>[], tools: IndexTools): PlanBlock | undefined
}

/**
 * Declares a trigger kind. Identity at runtime: it types the object, so `checkAbi` and `index` see the
 * kind's own trigger type.
 *
 * @example
 * export const blocksKind = defineTriggerKind<BlocksTrigger>({ type: 'blocks', schema, example, index })
 */
export function defineTriggerKind<trigger extends Trigger>(kind: TriggerKind<trigger>): TriggerKind<trigger> {
  return kind
}
