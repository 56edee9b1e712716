import { z } from 'zod'
import { must } from '../function/schemaFields.js'
import { triggerTypes } from '../function/triggers.js'
import { triggerKinds } from './triggerKinds.js'

const [first, ...rest] = triggerKinds.map((kind) => kind.schema)

/**
 * Validates the trigger read out of a function file: the union of the kinds' schemas. Only the shape:
 * `checkTriggerAbi` checks the names against the ABI afterwards.
 *
 * @example
 * triggerSchema.safeParse({ type: 'blocks', every: 10 }).success // true
 */
export const triggerSchema = z.discriminatedUnion('type', [first as z.core.$ZodTypeDiscriminable, ...rest], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? must(`one of ${triggerTypes.map((t) => `'${t}'`).join(', ')}`)({
          input: (issue.input as { type?: unknown } | undefined)?.type,
        })
      : must('an object such as { type: "blocks", every: 10 }')(issue),
})
