import { z } from 'zod'
import {
  abiField,
  confirmationField,
  contractField,
  must,
  nonEmptyString,
} from '../../function/schemaFields.js'
import type { DeadlineTrigger } from '../../function/triggers.js'
import { abiItemsOf, checkEventArg, eventInputs, type TriggerIssue } from '../abiNames.js'
import { compileArgReader } from '../compileArgReader.js'
import { defineTriggerKind, type OnDue } from '../defineTriggerKind.js'

const argName = (what: string) => nonEmptyString(`the name of an input of the event (${what})`)
const byEvent = <shape extends z.ZodType>(value: shape) =>
  z.record(z.string(), value, { error: must('an object keyed by event name') })

/** A deadline's due timer: one run with the key and the time, then the timer is gone until set again. */
export const fireDeadline: OnDue = (timer) => ({
  source: `timer:${timer.id}`,
  input: { deadline: { key: timer.key, at: timer.at } },
})

/**
 * `deadline`: a timer per key, set and cleared by events (read straight from the log when the event's
 * layout allows, see `compileArgReader`), and a run in the first block whose timestamp reaches it.
 */
export const deadlineKind = defineTriggerKind<DeadlineTrigger>({
  type: 'deadline',
  schema: z.strictObject({
    type: z.literal('deadline'),
    contract: contractField,
    abi: abiField,
    set: byEvent(z.strictObject({ key: argName('timer key'), at: argName('unix seconds') })).refine(
      (set) => Object.keys(set).length > 0,
      { error: 'must name at least one event, e.g. { LoanOpened: { key: "loanId", at: "lockAt" } }' },
    ),
    clear: byEvent(z.strictObject({ key: argName('timer key') })).optional(),
    confirmation: confirmationField,
  }),
  example:
    "trigger: { type: 'deadline', contract: 'CarLoan', abi: carLoanAbi, set: { LoanOpened: { key: 'loanId', at: 'lockAt' } } }",
  checkAbi(trigger) {
    const issues: TriggerIssue[] = []
    const abi = abiItemsOf(trigger)
    for (const part of ['set', 'clear'] as const) {
      for (const [event, fields] of Object.entries(
        (trigger[part] ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        const inputs = eventInputs(abi, `trigger.${part}.${event}`, event, issues)
        for (const field of inputs ? (part === 'set' ? ['key', 'at'] : ['key']) : []) {
          checkEventArg(`trigger.${part}.${event}.${field}`, event, inputs ?? [], fields[field], issues)
        }
      }
    }
    return issues
  },
  index(functions, tools) {
    for (const { name, trigger } of functions) {
      const addresses = tools.resolve(trigger.contract, name)
      for (const [eventName, spec] of Object.entries(trigger.set ?? {})) {
        const { key, at } = spec as { key: string; at: string }
        const event = tools.findEvent(trigger.abi, eventName, name)
        const readKey = compileArgReader(event, key)
        const readAt = compileArgReader(event, at)
        tools.watch(addresses, event, (log, decode, plan) => {
          let keyValue = readKey?.(log)
          let atValue = readAt?.(log)
          if (keyValue === undefined || atValue === undefined) {
            const args = decode(event)
            if (!args) return
            keyValue = args[key] as bigint | string
            atValue = args[at] as bigint
          }
          const timerKey = String(keyValue)
          const id = `${name}:${timerKey}`
          plan.setTimer({ id, functionName: name, key: timerKey, at: BigInt(atValue) })
        })
      }
      for (const [eventName, spec] of Object.entries(trigger.clear ?? {})) {
        const { key } = spec as { key: string }
        const event = tools.findEvent(trigger.abi, eventName, name)
        const readKey = compileArgReader(event, key)
        tools.watch(addresses, event, (log, decode, plan) => {
          let keyValue = readKey?.(log)
          if (keyValue === undefined) {
            const args = decode(event)
            if (!args) return
            keyValue = args[key] as bigint | string
          }
          plan.clearTimer(`${name}:${String(keyValue)}`)
        })
      }
      tools.onDue(name, fireDeadline)
    }
    return undefined
  },
})
