import { type AbiEvent, type Address, type Hex, toEventSelector } from 'viem'
import { resolveContract } from '../chain/resolveContract.js'
import { UnknownEventError } from '../internal/errors.js'
import type { OnDue, OnLog, PlanBlock, StartTimer, TriggeredFunction } from './defineTriggerKind.js'
import { triggerKinds } from './triggerKinds.js'

/**
 * Lookup tables from (address, topic0) to what a log does, so each log costs a map lookup whatever the
 * number of functions, loans or cars; and what each kind does per block and per due timer.
 */
export type TriggerIndex = {
  /** What each watched log does, by `logIndexKey(address, topic0)`, in function load order. */
  byLog: Map<string, OnLog[]>
  addresses: Address[]
  /** What a due timer of each function runs. */
  timers: Map<string, OnDue>
  /** The kinds' per-block work, in the order of the kinds table. */
  perBlock: PlanBlock[]
  /** Timers the engine arms when it starts (schedules). */
  schedules: StartTimer[]
  /** Confirmations each function waits for before it runs: a number of blocks, or 'finalized'. */
  confirmations: Map<string, number | 'finalized'>
  /** Whether any function waits for finality (then the finalized block is read each block). */
  usesFinalized: boolean
}

const logKey = (address: string, topic0: string) => `${address.toLowerCase()}:${topic0}`

const findEventIn = (abi: readonly unknown[], name: string, functionName: string): AbiEvent => {
  const event = abi.find(
    (x): x is AbiEvent => (x as AbiEvent).type === 'event' && (x as AbiEvent).name === name,
  )
  if (!event) {
    throw new UnknownEventError({ functionName, event: name })
  }
  return event
}

/**
 * Builds the trigger index of a set of functions: each kind of the table indexes its own functions.
 *
 * @example
 * const index = createTriggerIndex(functions, { CarLoan: '0x…' })
 * index.byLog.get(`${address}:${topic0}`)
 */
export function createTriggerIndex(
  functions: readonly TriggeredFunction[],
  contracts: Readonly<Record<string, Address>>,
): TriggerIndex {
  const addresses = new Set<Address>()
  // Functions bundle their own copy of an ABI: equal events become one object, so a log is decoded once
  // for all the functions it concerns (planBlock caches decodes by event object).
  const events = new Map<string, AbiEvent>()
  const index: TriggerIndex = {
    byLog: new Map(),
    addresses: [],
    timers: new Map(),
    perBlock: [],
    schedules: [],
    confirmations: new Map(),
    usesFinalized: false,
  }
  for (const { name, trigger } of functions) {
    const c = trigger.confirmation
    index.confirmations.set(
      name,
      c === undefined || c === 'instant' ? 0 : c === 'finalized' ? c : c.confirmations,
    )
    if (c === 'finalized') index.usesFinalized = true
  }
  for (const kind of triggerKinds) {
    const planBlock = kind.index(
      functions.filter((f) => f.trigger.type === kind.type),
      {
        contracts,
        resolve: (ref, functionName) => resolveContract(ref, contracts, functionName),
        findEvent(abi, name, functionName) {
          const event = findEventIn(abi, name, functionName)
          const key = JSON.stringify(event)
          const known = events.get(key)
          if (known) return known
          events.set(key, event)
          return event
        },
        watch(watched, event, onLog) {
          const topic0 = toEventSelector(event) as Hex
          for (const a of watched) {
            addresses.add(a)
            const k = logKey(a, topic0)
            index.byLog.set(k, [...(index.byLog.get(k) ?? []), onLog])
          }
        },
        onDue: (functionName, onDue) => index.timers.set(functionName, onDue),
        armAtStart: (timer) => index.schedules.push(timer),
      },
    )
    if (planBlock) index.perBlock.push(planBlock)
  }
  index.addresses = [...addresses]
  return index
}

/** The index key of a log. @example logIndexKey(log.address, log.topics[0]) */
export const logIndexKey = logKey
