import type { z } from 'zod'
import { CorruptRowError } from '../errors.js'

/**
 * Parses a JSON column and checks it against `schema`: what comes back from the file is not trusted to
 * be what pbj wrote (an edited or damaged file fails here, named, instead of deep in a run).
 *
 * @example
 * const logs = readJson(logsSchema, row.logs, 'runs.logs')
 */
export function readJson<Schema extends z.ZodType>(
  schema: Schema,
  text: string,
  column: string,
): z.output<Schema> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new CorruptRowError({ column, cause })
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new CorruptRowError({ column, cause: parsed.error })
  return parsed.data
}
