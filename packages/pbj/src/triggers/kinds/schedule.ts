import { z } from 'zod'
import { confirmationField, nonNegativeInt, positiveInt } from '../../function/schemaFields.js'
import type { ScheduleTrigger } from '../../function/triggers.js'
import { defineTriggerKind } from '../defineTriggerKind.js'

/**
 * `schedule`: one timer per function, armed when the engine starts (`at`, or a period after the head). When
 * it is due the function runs, and an `every` timer re-arms at the next multiple of `every` after the block
 * (one run however many periods a slow block skipped); a one-off `at` timer is cleared.
 */
export const scheduleKind = defineTriggerKind<ScheduleTrigger>({
  type: 'schedule',
  schema: z
    .strictObject({
      type: z.literal('schedule'),
      at: nonNegativeInt('unix seconds').optional(),
      every: positiveInt('seconds').optional(),
      confirmation: confirmationField,
    })
    .refine((t) => t.at !== undefined || t.every !== undefined, {
      error: 'needs `at` (unix seconds), `every` (seconds), or both',
    }),
  example: "trigger: { type: 'schedule', every: 3600 }",
  index(functions, tools) {
    for (const { name, trigger } of functions) {
      tools.armAtStart({ functionName: name, at: trigger.at, every: trigger.every })
      const every = trigger.every === undefined ? undefined : BigInt(trigger.every)
      tools.onDue(name, (timer, block) => ({
        source: `timer:${timer.id}:${timer.at}`,
        input: { schedule: { at: timer.at } },
        ...(every ? { next: timer.at + every * ((block.timestamp - timer.at) / every + 1n) } : {}),
      }))
    }
    return undefined
  },
})
