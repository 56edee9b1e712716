import { z } from 'zod'
import { type GrantedCapabilities, noCapabilities } from '../capabilities/capabilities.js'
import { capabilitiesSchema } from '../capabilities/capabilitiesSchema.js'
import type { FunctionLimits, RetryPolicy } from '../function/defineFunction.js'
import { limitsSchema } from '../function/limitsSchema.js'
import { retrySchema } from '../function/retrySchema.js'
import type { Trigger } from '../function/triggers.js'
import type { TriggerIssue } from '../triggers/abiNames.js'
import { checkTriggerAbi } from '../triggers/checkTriggerAbi.js'
import { triggerKindOf } from '../triggers/triggerKinds.js'
import { triggerSchema } from '../triggers/triggerSchema.js'
import { InvalidFunctionDataError } from './functionLoadErrors.js'

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

/** How to write each section, for the hint of an error in it; a trigger kind has its own `example`. */
const examples: Record<string, string> = {
  limits: 'limits: { timeoutMs: 5000, memoryMb: 64 }',
  retry: "retry: { maxAttempts: 5, backoffMs: 200, on: 'faults' }",
  capabilities:
    "capabilities: { devices: { actions: ['lock'] }, write: [{ contract: 'CarLoan', functionName: 'payDue' }], secrets: ['API_KEY'] }",
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('')
}

function fromZod(issue: z.core.$ZodIssue): TriggerIssue[] {
  const path = pathOf(issue.path)
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: `${path}.${key}`, message: 'is not a known field' }))
  }
  return [{ path, message: issue.message }]
}

const line = (i: TriggerIssue) =>
  /^(must|needs|is) /.test(i.message) ? `${i.path} ${i.message}` : `${i.path}: ${i.message}`

/**
 * Validates the trigger, limits, retry policy and capabilities read out of a function file, including that
 * the names in the trigger exist in its ABI. No `capabilities` grants none (reads, kv and logs only).
 *
 * @throws InvalidFunctionDataError naming the file and the field, e.g.
 *   `functions/x.ts: trigger.every must be a positive integer (number of blocks); got -1`
 * @example
 * const { trigger, limits } = parseFunctionData({ trigger: { type: 'blocks', every: 10 } }, 'functions/x.ts')
 */
export function parseFunctionData(
  data: unknown,
  file: string,
): { trigger: Trigger; limits: FunctionLimits; retry: RetryPolicy; capabilities: GrantedCapabilities } {
  const parsed = functionDataSchema.safeParse(data)
  const issues = parsed.success
    ? checkTriggerAbi(parsed.data.trigger as Trigger)
    : parsed.error.issues.flatMap(fromZod)
  const first = issues[0]
  if (parsed.success && !first) {
    // The schema checked the shape and checkTriggerAbi the names; viem's Abi type is richer than zod's.
    const { trigger, limits, retry, capabilities } = parsed.data as {
      trigger: Trigger
      limits?: FunctionLimits
      retry?: RetryPolicy
      capabilities?: GrantedCapabilities
    }
    return {
      trigger,
      limits: limits ?? {},
      retry: retry ?? {},
      capabilities: capabilities ?? noCapabilities,
    }
  }
  const type = (data as { trigger?: { type?: unknown } } | undefined)?.trigger?.type
  const section = ['limits', 'retry', 'capabilities'].find((f) => first?.path.startsWith(f))
  const example = section ? examples[section] : (triggerKindOf(type) ?? triggerKindOf('blocks'))?.example
  throw new InvalidFunctionDataError({ file, lines: issues.map(line), example, issues })
}
