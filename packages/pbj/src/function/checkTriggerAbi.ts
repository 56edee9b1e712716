import { showValue } from '../internal/showValue.js'

/** A problem found in a trigger: the field path and what is wrong with it. */
export type TriggerIssue = { path: string; message: string }

type AbiItem = {
  type: string
  name?: unknown
  inputs?: unknown
  stateMutability?: unknown
  constant?: unknown
}

const list = (names: readonly string[]) => (names.length === 0 ? 'none' : names.join(', '))

function namesOf(items: readonly AbiItem[], type: string): string[] {
  return items.filter((i) => i.type === type && typeof i.name === 'string').map((i) => i.name as string)
}

/** Input names of every ABI item of that type and name (several when overloaded). */
function overloadsOf(items: readonly AbiItem[], type: string, name: string): string[][] {
  return items
    .filter((i) => i.type === type && i.name === name)
    .map((i) =>
      Array.isArray(i.inputs) ? i.inputs.map((p: { name?: unknown }) => String(p.name ?? '')) : [],
    )
}

function eventInputs(abi: readonly AbiItem[], path: string, event: string, issues: TriggerIssue[]) {
  const overloads = overloadsOf(abi, 'event', event)
  if (overloads.length > 0) return overloads.flat()
  const events = list(namesOf(abi, 'event'))
  issues.push({ path, message: `must name an event in abi; got ${showValue(event)} (events: ${events})` })
  return undefined
}

function checkArg(
  path: string,
  event: string,
  inputs: readonly string[],
  arg: unknown,
  issues: TriggerIssue[],
) {
  if (typeof arg === 'string' && inputs.includes(arg)) return
  issues.push({
    path,
    message: `must name an input of event ${event}; got ${showValue(arg)} (inputs: ${list(inputs)})`,
  })
}

function checkCondition(abi: readonly AbiItem[], name: string, args: unknown, issues: TriggerIssue[]) {
  const views = abi.filter(
    (i) =>
      i.type === 'function' &&
      (i.stateMutability === 'view' || i.stateMutability === 'pure' || i.constant === true),
  )
  const overloads = overloadsOf(views, 'function', name)
  const argCount = Array.isArray(args) ? args.length : 0
  if (overloads.length === 0) {
    const message = `must name a view or pure function in abi; got ${showValue(name)} (view functions: ${list(namesOf(views, 'function'))})`
    issues.push({ path: 'trigger.functionName', message })
  } else if (!overloads.some((inputs) => inputs.length === argCount)) {
    const takes = overloads.map((inputs) => inputs.length).join(' or ')
    issues.push({ path: 'trigger.args', message: `must hold ${takes} value(s) for ${name}; got ${argCount}` })
  }
}

/**
 * Checks that the names in a shape-valid trigger exist in its ABI: the event and its filter args,
 * deadline events and their `key`/`at` args, the condition's view function and its arg count.
 *
 * @example
 * checkTriggerAbi({ type: 'event', abi, event: 'Nope' })
 * // [{ path: 'trigger.event', message: "must name an event in abi; got 'Nope' (events: Paid)" }]
 */
export function checkTriggerAbi(trigger: Record<string, unknown>): TriggerIssue[] {
  const issues: TriggerIssue[] = []
  const abi = (Array.isArray(trigger.abi) ? trigger.abi : []) as AbiItem[]
  if (trigger.type === 'event' && typeof trigger.event === 'string') {
    const inputs = eventInputs(abi, 'trigger.event', trigger.event, issues)
    for (const arg of Object.keys((trigger.args ?? {}) as object)) {
      if (inputs) checkArg(`trigger.args.${arg}`, trigger.event, inputs, arg, issues)
    }
  }
  if (trigger.type === 'deadline') {
    for (const part of ['set', 'clear'] as const) {
      for (const [event, fields] of Object.entries(
        (trigger[part] ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        const inputs = eventInputs(abi, `trigger.${part}.${event}`, event, issues)
        for (const field of inputs ? (part === 'set' ? ['key', 'at'] : ['key']) : []) {
          checkArg(`trigger.${part}.${event}.${field}`, event, inputs ?? [], fields[field], issues)
        }
      }
    }
  }
  if (trigger.type === 'condition' && typeof trigger.functionName === 'string') {
    checkCondition(abi, trigger.functionName, trigger.args, issues)
  }
  return issues
}
