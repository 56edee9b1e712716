import { getAddress } from 'viem'
import { z } from 'zod'
import {
  abiField,
  confirmationField,
  contractField,
  must,
  nonEmptyString,
} from '../../function/schemaFields.js'
import type { EventTrigger } from '../../function/triggers.js'
import { abiItemsOf, checkEventArg, eventInputs, type TriggerIssue } from '../abiNames.js'
import { defineTriggerKind } from '../defineTriggerKind.js'
import { matchesArgs } from '../matchesArgs.js'

/** `event`: a run for each log of the event whose decoded args match the filters. */
export const eventKind = defineTriggerKind<EventTrigger>({
  type: 'event',
  schema: z.strictObject({
    type: z.literal('event'),
    contract: contractField,
    abi: abiField,
    event: nonEmptyString('an event name from the abi'),
    args: z.record(z.string(), z.unknown(), { error: must('an object of event arg filters') }).optional(),
    confirmation: confirmationField,
  }),
  example: "trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' }",
  checkAbi(trigger) {
    const issues: TriggerIssue[] = []
    if (typeof trigger.event !== 'string') return issues
    const inputs = eventInputs(abiItemsOf(trigger), 'trigger.event', trigger.event, issues)
    for (const arg of Object.keys((trigger.args ?? {}) as object)) {
      if (inputs) checkEventArg(`trigger.args.${arg}`, trigger.event, inputs, arg, issues)
    }
    return issues
  },
  index(functions, tools) {
    for (const { name, trigger } of functions) {
      const event = tools.findEvent(trigger.abi, trigger.event, name)
      const filter = trigger.args as Record<string, unknown> | undefined
      tools.watch(tools.resolve(trigger.contract, name), event, (log, decode, plan) => {
        const args = decode(event)
        if (!args || !matchesArgs(args, filter)) return
        plan.job(name, `log${log.logIndex}`, {
          event: {
            name: event.name,
            args,
            // RPC logs carry lowercase addresses; checksum them like the decoded args and the config's.
            address: getAddress(log.address),
            logIndex: log.logIndex,
            transactionHash: log.transactionHash,
          },
        })
      })
    }
    return undefined
  },
})
