import { showValue } from '../internal/showValue.js'

/**
 * Helpers for a trigger kind's `checkAbi`: they find the names a trigger uses in its ABI and say, when one
 * is missing, which names the ABI does have. The ABI is only shape-checked by then, so items are read
 * loosely.
 */

/** A problem found in a trigger: the field path and what is wrong with it. */
export type TriggerIssue = { path: string; message: string }

/** An ABI item as far as name checks read it. */
export type AbiItem = {
  type: string
  name?: unknown
  inputs?: unknown
  stateMutability?: unknown
  constant?: unknown
}

/** The trigger's `abi` as a list of items (empty when it is not an array). */
export const abiItemsOf = (trigger: { abi?: unknown }): readonly AbiItem[] =>
  (Array.isArray(trigger.abi) ? trigger.abi : []) as AbiItem[]

/** Names for a message: `a, b` or `none`. */
export const listNames = (names: readonly string[]) => (names.length === 0 ? 'none' : names.join(', '))

/** Names of the ABI items of a type, e.g. every event name. */
export function namesOf(items: readonly AbiItem[], type: string): string[] {
  return items.filter((i) => i.type === type && typeof i.name === 'string').map((i) => i.name as string)
}

/** Input names of every ABI item of that type and name (several when overloaded). */
export function overloadsOf(items: readonly AbiItem[], type: string, name: string): string[][] {
  return items
    .filter((i) => i.type === type && i.name === name)
    .map((i) =>
      Array.isArray(i.inputs) ? i.inputs.map((p: { name?: unknown }) => String(p.name ?? '')) : [],
    )
}

/**
 * The input names of `event` (of all its overloads), or undefined after adding an issue at `path` when the
 * ABI has no such event.
 */
export function eventInputs(abi: readonly AbiItem[], path: string, event: string, issues: TriggerIssue[]) {
  const overloads = overloadsOf(abi, 'event', event)
  if (overloads.length > 0) return overloads.flat()
  const events = listNames(namesOf(abi, 'event'))
  issues.push({ path, message: `must name an event in abi; got ${showValue(event)} (events: ${events})` })
  return undefined
}

/** Adds an issue at `path` unless `arg` names one of the event's `inputs`. */
export function checkEventArg(
  path: string,
  event: string,
  inputs: readonly string[],
  arg: unknown,
  issues: TriggerIssue[],
) {
  if (typeof arg === 'string' && inputs.includes(arg)) return
  issues.push({
    path,
    message: `must name an input of event ${event}; got ${showValue(arg)} (inputs: ${listNames(inputs)})`,
  })
}
