import { z } from 'zod'
import { confirmationField, positiveInt } from '../../function/schemaFields.js'
import type { BlocksTrigger } from '../../function/triggers.js'
import { defineTriggerKind } from '../defineTriggerKind.js'

/** `blocks`: a run in every block whose number is a multiple of `every`. */
export const blocksKind = defineTriggerKind<BlocksTrigger>({
  type: 'blocks',
  schema: z.strictObject({
    type: z.literal('blocks'),
    every: positiveInt('number of blocks'),
    confirmation: confirmationField,
  }),
  example: "trigger: { type: 'blocks', every: 10 }",
  index(functions) {
    if (functions.length === 0) return undefined
    const entries = functions.map((f) => ({ name: f.name, every: BigInt(f.trigger.every) }))
    return (plan) => {
      for (const f of entries) if (plan.block.number % f.every === 0n) plan.job(f.name, 'blocks', {})
    }
  },
})
