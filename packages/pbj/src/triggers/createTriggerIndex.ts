import { type AbiEvent, type Address, type Hex, toEventSelector } from 'viem'
import { resolveContract } from '../chain/resolveContract.js'
import type { ConditionTrigger, Trigger } from '../function/triggers.js'
import { FunctionBuildError } from '../internal/errors.js'
import { type ArgReader, compileArgReader } from './compileArgReader.js'

/** A function as the trigger stage sees it. */
export type TriggeredFunction = { name: string; trigger: Trigger }

/** What a log can cause: an event run, or a deadline timer being set or cleared. */
export type LogTarget =
  | { kind: 'event'; functionName: string; event: AbiEvent; args: Record<string, unknown> | undefined }
  | {
      kind: 'deadline-set'
      functionName: string
      event: AbiEvent
      key: string
      at: string
      /** Fast readers of `key` and `at` (null: the log is decoded in full). */
      readKey: ArgReader | null
      readAt: ArgReader | null
    }
  | { kind: 'deadline-clear'; functionName: string; event: AbiEvent; key: string; readKey: ArgReader | null }

/**
 * Lookup tables from (address, topic0) to the functions a log concerns, so each log costs a map lookup
 * whatever the number of functions, loans or cars.
 */
export type TriggerIndex = {
  byLog: Map<string, LogTarget[]>
  addresses: Address[]
  conditions: { functionName: string; id: string; trigger: ConditionTrigger; address: Address }[]
  blocks: { functionName: string; every: number }[]
  schedules: { functionName: string; at: number | undefined; every: number | undefined }[]
  /** Confirmations each function waits for before it runs: a number of blocks, or 'finalized'. */
  confirmations: Map<string, number | 'finalized'>
  /** Whether any function waits for finality (then the finalized block is read each block). */
  usesFinalized: boolean
}

const logKey = (address: string, topic0: string) => `${address.toLowerCase()}:${topic0}`

const findEvent = (abi: readonly unknown[], name: string, functionName: string): AbiEvent => {
  const event = abi.find(
    (x): x is AbiEvent => (x as AbiEvent).type === 'event' && (x as AbiEvent).name === name,
  )
  if (!event) {
    throw new FunctionBuildError(`Function '${functionName}': event '${name}' is not in the trigger's abi`, {
      meta: { field: 'trigger.event', functionName },
      hint: 'Use an event name from the ABI you pass as trigger.abi.',
    })
  }
  return event
}

/**
 * Builds the trigger index of a set of functions.
 *
 * @example
 * const index = createTriggerIndex(functions, { CarLoan: '0x…' })
 * index.byLog.get(`${address}:${topic0}`)
 */
export function createTriggerIndex(
  functions: readonly TriggeredFunction[],
  contracts: Readonly<Record<string, Address>>,
): TriggerIndex {
  const byLog = new Map<string, LogTarget[]>()
  const addresses = new Set<Address>()
  // Functions bundle their own copy of an ABI: equal events become one object, so a log is decoded once
  // for all the functions it concerns (planBlock caches decodes by event object).
  const events = new Map<string, AbiEvent>()
  const shared = (event: AbiEvent) => {
    const key = JSON.stringify(event)
    const known = events.get(key)
    if (known) return known
    events.set(key, event)
    return event
  }
  const index: TriggerIndex = {
    byLog,
    addresses: [],
    conditions: [],
    blocks: [],
    schedules: [],
    confirmations: new Map(),
    usesFinalized: false,
  }
  const add = (addrs: Address[], event: AbiEvent, target: LogTarget) => {
    const topic0 = toEventSelector(event) as Hex
    for (const a of addrs) {
      addresses.add(a)
      const k = logKey(a, topic0)
      byLog.set(k, [...(byLog.get(k) ?? []), target])
    }
  }
  for (const { name, trigger: t } of functions) {
    const c = t.confirmation
    index.confirmations.set(
      name,
      c === undefined || c === 'instant' ? 0 : c === 'finalized' ? c : c.confirmations,
    )
    if (c === 'finalized') index.usesFinalized = true
    if (t.type === 'event') {
      const event = shared(findEvent(t.abi, t.event, name))
      const args = t.args as Record<string, unknown> | undefined
      add(resolveContract(t.contract, contracts, name), event, {
        kind: 'event',
        functionName: name,
        event,
        args,
      })
    } else if (t.type === 'deadline') {
      const addrs = resolveContract(t.contract, contracts, name)
      for (const [eventName, spec] of Object.entries(t.set ?? {})) {
        const s = spec as { key: string; at: string }
        const event = shared(findEvent(t.abi, eventName, name))
        add(addrs, event, {
          kind: 'deadline-set',
          functionName: name,
          event,
          key: s.key,
          at: s.at,
          readKey: compileArgReader(event, s.key),
          readAt: compileArgReader(event, s.at),
        })
      }
      for (const [eventName, spec] of Object.entries(t.clear ?? {})) {
        const event = shared(findEvent(t.abi, eventName, name))
        const key = (spec as { key: string }).key
        add(addrs, event, {
          kind: 'deadline-clear',
          functionName: name,
          event,
          key,
          readKey: compileArgReader(event, key),
        })
      }
    } else if (t.type === 'condition') {
      const [address] = resolveContract(t.contract, contracts, name) as [Address]
      index.conditions.push({ functionName: name, id: `${name}:condition`, trigger: t, address })
    } else if (t.type === 'blocks') {
      index.blocks.push({ functionName: name, every: t.every })
    } else {
      index.schedules.push({ functionName: name, at: t.at, every: t.every })
    }
  }
  index.addresses = [...addresses]
  return index
}

/** The index key of a log. @example logIndexKey(log.address, log.topics[0]) */
export const logIndexKey = logKey
