import { z } from 'zod'
import { must, positiveInt } from './schemaFields.js'

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
