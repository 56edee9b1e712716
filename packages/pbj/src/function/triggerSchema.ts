import { z } from 'zod'
import { capabilitiesSchema } from '../capabilities/capabilitiesSchema.js'
import { showValue } from '../internal/showValue.js'
import { triggerTypes } from './triggers.js'

type Issue = { input?: unknown }

/** An error function for zod that says what the field must be and what it got. */
const must = (what: string) => (issue: Issue) => `must be ${what}; got ${showValue(issue.input)}`

const positiveInt = (unit: string) => {
  const error = must(`a positive integer (${unit})`)
  return z.number({ error }).int({ error }).positive({ error })
}

const nonNegativeInt = (unit: string) => {
  const error = must(`a non-negative integer (${unit})`)
  return z.number({ error }).int({ error }).nonnegative({ error })
}

const nonEmptyString = (what: string) => z.string({ error: must(what) }).min(1, { error: must(what) })

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/)

const contract = z.union([nonEmptyString('a contract name'), z.array(address).min(1)], {
  error: must('a contract name from the config, a 0x address, or a non-empty list of 0x addresses'),
})

const abi = z.array(z.looseObject({ type: z.string() }), {
  error: must("an ABI array (e.g. carLoanAbi from '@pbj/contracts')"),
})

const confirmation = z
  .union(
    [z.literal('instant'), z.literal('finalized'), z.strictObject({ confirmations: positiveInt('blocks') })],
    {
      error: must("'instant', 'finalized' or { confirmations: n }"),
    },
  )
  .optional()

const eventTrigger = z.strictObject({
  type: z.literal('event'),
  contract,
  abi,
  event: nonEmptyString('an event name from the abi'),
  args: z.record(z.string(), z.unknown(), { error: must('an object of event arg filters') }).optional(),
  confirmation,
})

const conditionTrigger = z.strictObject({
  type: z.literal('condition'),
  contract,
  abi,
  functionName: nonEmptyString('a view function name from the abi'),
  args: z.array(z.unknown(), { error: must('an array of call arguments') }).optional(),
  everyBlocks: positiveInt('number of blocks').optional(),
  confirmation,
})

const scheduleTrigger = z
  .strictObject({
    type: z.literal('schedule'),
    at: nonNegativeInt('unix seconds').optional(),
    every: positiveInt('seconds').optional(),
    confirmation,
  })
  .refine((t) => t.at !== undefined || t.every !== undefined, {
    error: 'needs `at` (unix seconds), `every` (seconds), or both',
  })

const blocksTrigger = z.strictObject({
  type: z.literal('blocks'),
  every: positiveInt('number of blocks'),
  confirmation,
})

const argName = (what: string) => nonEmptyString(`the name of an input of the event (${what})`)
const deadlineMap = <shape extends z.ZodType>(value: shape) =>
  z.record(z.string(), value, { error: must('an object keyed by event name') })

const deadlineTrigger = z.strictObject({
  type: z.literal('deadline'),
  contract,
  abi,
  set: deadlineMap(z.strictObject({ key: argName('timer key'), at: argName('unix seconds') })).refine(
    (set) => Object.keys(set).length > 0,
    { error: 'must name at least one event, e.g. { LoanOpened: { key: "loanId", at: "lockAt" } }' },
  ),
  clear: deadlineMap(z.strictObject({ key: argName('timer key') })).optional(),
  confirmation,
})

/**
 * Validates the trigger read out of a function file. Only the shape: `checkTriggerAbi` checks the names
 * against the ABI afterwards.
 *
 * @example
 * triggerSchema.safeParse({ type: 'blocks', every: 10 }).success // true
 */
export const triggerSchema = z.discriminatedUnion(
  'type',
  [eventTrigger, conditionTrigger, scheduleTrigger, blocksTrigger, deadlineTrigger],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? must(`one of ${triggerTypes.map((t) => `'${t}'`).join(', ')}`)({
            input: (issue.input as { type?: unknown } | undefined)?.type,
          })
        : must('an object such as { type: "blocks", every: 10 }')(issue),
  },
)

/**
 * Validates a function's `limits`.
 *
 * @example
 * limitsSchema.parse({ timeoutMs: 5000, memoryMb: 64 })
 */
export const limitsSchema = z.strictObject(
  {
    timeoutMs: positiveInt('milliseconds').optional(),
    memoryMb: z
      .number({ error: must('an integer from 8 to 4096 (MB)') })
      .int({ error: must('an integer from 8 to 4096 (MB)') })
      .min(8, { error: must('an integer from 8 to 4096 (MB)') })
      .max(4096, { error: must('an integer from 8 to 4096 (MB)') })
      .optional(),
  },
  { error: must('an object such as { timeoutMs: 5000, memoryMb: 64 }') },
)

/**
 * Validates a function's `retry` policy.
 *
 * @example
 * retrySchema.parse({ maxAttempts: 10, backoffMs: 500, on: 'all' })
 */
export const retrySchema = z.strictObject(
  {
    maxAttempts: positiveInt('runs in all, e.g. 5').optional(),
    backoffMs: positiveInt('milliseconds').optional(),
    maxBackoffMs: positiveInt('milliseconds').optional(),
    on: z.enum(['faults', 'all'], { error: must("'faults' or 'all'") }).optional(),
  },
  { error: must("an object such as { maxAttempts: 5, backoffMs: 200, on: 'faults' }") },
)

/**
 * The data part of a function definition: what `loadFunction` reads out of the sandbox.
 *
 * @example
 * functionDataSchema.safeParse({ trigger: { type: 'blocks', every: 1 } })
 */
export const functionDataSchema = z.object({
  trigger: triggerSchema,
  limits: limitsSchema.optional(),
  retry: retrySchema.optional(),
  capabilities: capabilitiesSchema.optional(),
})
