import type { Abi, AbiParameterToPrimitiveType, Address, ContractEventName } from 'viem'
import type { Confirmation } from '../core/confirmation.js'

/** A contract named in the config (`contracts: { CarLoan: … }`), or a literal address, or several addresses. */
export type ContractRef = string | Address | readonly Address[]

type EventInputs<abi extends Abi, eventName extends string> = Extract<
  abi[number],
  { type: 'event'; name: eventName }
>['inputs'][number]

/** Names of an event's inputs, e.g. `'loanId' | 'lockAt'`. */
export type EventArgName<abi extends Abi, eventName extends string> = Extract<
  EventInputs<abi, eventName>['name'],
  string
>

/** Decoded args of an event, typed from the ABI: `{ loanId: bigint; borrower: Address; … }`. */
export type EventArgs<abi extends Abi, eventName extends string> = {
  [input in EventInputs<abi, eventName> as Extract<input['name'], string>]: AbiParameterToPrimitiveType<input>
}

/**
 * Runs the function for each matching log.
 *
 * @example
 * { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid', args: { loanId: 1n } }
 */
export type EventTrigger<abi extends Abi = Abi, eventName extends string = string> = {
  type: 'event'
  contract: ContractRef
  abi: abi
  event: eventName
  /** Equality filters on decoded args; every given arg must match. */
  args?: Partial<EventArgs<abi, eventName>>
  confirmation?: Confirmation
}

/**
 * Evaluates a view call at each block (or every `everyBlocks` blocks) and runs the function when its
 * result turns from falsy to truthy.
 *
 * @example
 * { type: 'condition', contract: 'CarLoan', abi: carLoanAbi, functionName: 'isDelinquent', args: [1n] }
 */
export type ConditionTrigger<abi extends Abi = Abi> = {
  type: 'condition'
  contract: string | Address
  abi: abi
  functionName: string
  args?: readonly unknown[]
  everyBlocks?: number
  confirmation?: Confirmation
}

/**
 * Runs at a chain timestamp (`at`, unix seconds) and/or every `every` seconds of chain time, in the first
 * block whose timestamp reaches it. With `every` alone the first run is `every` seconds after the head the
 * engine starts at; a block that skips several periods runs it once.
 *
 * @example
 * { type: 'schedule', every: 3600 }
 */
export type ScheduleTrigger = {
  type: 'schedule'
  at?: number
  every?: number
  confirmation?: Confirmation
}

/**
 * Runs every `every` blocks (block numbers divisible by `every`).
 *
 * @example
 * { type: 'blocks', every: 10 }
 */
export type BlocksTrigger = { type: 'blocks'; every: number; confirmation?: Confirmation }

/** Which event arg is the timer's key and which holds its chain timestamp. */
export type DeadlineSet<abi extends Abi, eventName extends string> = {
  key: EventArgName<abi, eventName>
  at: EventArgName<abi, eventName>
}

/**
 * A chain-time timer per key, kept current from contract events: `set` events (re)arm the timer of
 * `args[key]` at `args[at]`; `clear` events disarm it. The function runs in the first block whose
 * timestamp reaches the timer. Work per block grows with the timers due, not with the keys watched.
 *
 * @example
 * {
 *   type: 'deadline', contract: 'CarLoan', abi: carLoanAbi,
 *   set: { LoanOpened: { key: 'loanId', at: 'lockAt' }, InstallmentPaid: { key: 'loanId', at: 'lockAt' } },
 *   clear: { LoanRepaid: { key: 'loanId' } },
 * }
 */
export type DeadlineTrigger<abi extends Abi = Abi> = {
  type: 'deadline'
  contract: ContractRef
  abi: abi
  set: { [eventName in ContractEventName<abi>]?: DeadlineSet<abi, eventName> }
  clear?: { [eventName in ContractEventName<abi>]?: { key: EventArgName<abi, eventName> } }
  confirmation?: Confirmation
}

/** Any trigger. */
export type Trigger =
  | EventTrigger<Abi, string>
  | ConditionTrigger<Abi>
  | ScheduleTrigger
  | BlocksTrigger
  | DeadlineTrigger<Abi>

/**
 * The trigger kinds, for validation and messages, in the order messages list them. Each has its definition
 * (schema, ABI check, index, block planning) in `triggers/kinds/` and a line in `triggers/triggerKinds.ts`.
 */
export const triggerTypes = ['event', 'condition', 'schedule', 'blocks', 'deadline'] as const

/**
 * What a run of each kind finds on `ctx` besides the base context, by trigger type; the kind's planner puts
 * the same field in the run's input. (`event` runs get `ctx.event`, typed from the trigger's ABI: see
 * `Context` in `ctx.ts`.)
 */
export type TriggerRunFields = {
  deadline: { deadline: { key: string; at: bigint } }
  condition: { condition: { value: unknown } }
  schedule: { schedule: { at: bigint } }
  blocks: Record<never, never>
}

/**
 * Checks a trigger written in `defineFunction` against its ABI: the event must exist and filters and
 * deadline fields must name real args. Used as an intersection so the literal type is kept.
 */
export type ValidTrigger<trigger> = trigger extends {
  type: 'event'
  abi: infer abi extends Abi
  event: infer name
}
  ? {
      event: ContractEventName<abi>
      args?: Partial<EventArgs<abi, name & string>>
    }
  : trigger extends { type: 'deadline'; abi: infer abi extends Abi }
    ? {
        set: { [eventName in ContractEventName<abi>]?: DeadlineSet<abi, eventName> }
        clear?: { [eventName in ContractEventName<abi>]?: { key: EventArgName<abi, eventName> } }
      }
    : unknown
