import { z } from 'zod'
import { showValue } from '../internal/showValue.js'

type Issue = { input?: unknown }

/**
 * The words a function definition is validated with. Trigger kinds (`triggers/kinds/*`), `limits` and
 * `retry` build their schemas from these, so every message reads the same: what the field must be and
 * what it got.
 */

/** An error function for zod that says what the field must be and what it got. */
export const must = (what: string) => (issue: Issue) => `must be ${what}; got ${showValue(issue.input)}`

/** A positive integer in `unit`. @example positiveInt('seconds') */
export const positiveInt = (unit: string) => {
  const error = must(`a positive integer (${unit})`)
  return z.number({ error }).int({ error }).positive({ error })
}

/** A non-negative integer in `unit`. @example nonNegativeInt('unix seconds') */
export const nonNegativeInt = (unit: string) => {
  const error = must(`a non-negative integer (${unit})`)
  return z.number({ error }).int({ error }).nonnegative({ error })
}

/** A non-empty string described as `what`. @example nonEmptyString('an event name from the abi') */
export const nonEmptyString = (what: string) => z.string({ error: must(what) }).min(1, { error: must(what) })

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/)

/** A trigger's `contract`: a name from the config, an address, or a non-empty list of addresses. */
export const contractField = z.union([nonEmptyString('a contract name'), z.array(address).min(1)], {
  error: must('a contract name from the config, a 0x address, or a non-empty list of 0x addresses'),
})

/** A trigger's `abi`: only its shape here; the names in it are checked by the kind's `checkAbi`. */
export const abiField = z.array(z.looseObject({ type: z.string() }), {
  error: must("an ABI array (e.g. carLoanAbi from '@pbj/contracts')"),
})

/** A trigger's optional `confirmation`. */
export const confirmationField = z
  .union(
    [z.literal('instant'), z.literal('finalized'), z.strictObject({ confirmations: positiveInt('blocks') })],
    {
      error: must("'instant', 'finalized' or { confirmations: n }"),
    },
  )
  .optional()
