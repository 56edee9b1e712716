import type { Trigger } from '../function/triggers.js'
import type { TriggerIssue } from './abiNames.js'
import { triggerKindOf } from './triggerKinds.js'

/**
 * Checks that the names in a shape-valid trigger exist in its ABI, by its kind's `checkAbi`: for instance
 * the event and its filter args, deadline events and their `key`/`at` args, the condition's view function
 * and its arg count. Kinds without an ABI have nothing to check.
 *
 * @example
 * checkTriggerAbi({ type: 'event', contract: 'CarLoan', abi, event: 'Nope' })
 * // [{ path: 'trigger.event', message: "must name an event in abi; got 'Nope' (events: Paid)" }]
 */
export function checkTriggerAbi(trigger: Trigger): TriggerIssue[] {
  return triggerKindOf(trigger.type)?.checkAbi?.(trigger) ?? []
}
