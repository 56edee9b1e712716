import { z } from 'zod'
import { must, positiveInt } from './schemaFields.js'

const memoryMb = must('an integer from 8 to 4096 (MB)')

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
      .number({ error: memoryMb })
      .int({ error: memoryMb })
      .min(8, { error: memoryMb })
      .max(4096, { error: memoryMb })
      .optional(),
  },
  { error: must('an object such as { timeoutMs: 5000, memoryMb: 64 }') },
)
