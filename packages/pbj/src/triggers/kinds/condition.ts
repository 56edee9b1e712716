import type { Address } from 'viem'
import { z } from 'zod'
import {
  abiField,
  confirmationField,
  contractField,
  must,
  nonEmptyString,
  positiveInt,
} from '../../function/schemaFields.js'
import type { ConditionTrigger } from '../../function/triggers.js'
import { showValue } from '../../internal/showValue.js'
import { abiItemsOf, listNames, namesOf, overloadsOf, type TriggerIssue } from '../abiNames.js'
import { type BlockPlan, defineTriggerKind } from '../defineTriggerKind.js'

type Watched = { functionName: string; id: string; trigger: ConditionTrigger; address: Address }

/**
 * `condition`: a view call at every block (or every `everyBlocks`), at that block; a run when its result
 * turns from falsy to truthy. Each value is kept with the block, so a reorg or a restart compares with the
 * value at the block before.
 */
export const conditionKind = defineTriggerKind<ConditionTrigger>({
  type: 'condition',
  schema: z.strictObject({
    type: z.literal('condition'),
    contract: contractField,
    abi: abiField,
    functionName: nonEmptyString('a view function name from the abi'),
    args: z.array(z.unknown(), { error: must('an array of call arguments') }).optional(),
    everyBlocks: positiveInt('number of blocks').optional(),
    confirmation: confirmationField,
  }),
  example:
    "trigger: { type: 'condition', contract: 'CarLoan', abi: carLoanAbi, functionName: 'isDelinquent', args: [1n] }",
  checkAbi(trigger) {
    const issues: TriggerIssue[] = []
    const name = trigger.functionName
    const views = abiItemsOf(trigger).filter(
      (i) =>
        i.type === 'function' &&
        (i.stateMutability === 'view' || i.stateMutability === 'pure' || i.constant === true),
    )
    const overloads = overloadsOf(views, 'function', name)
    const argCount = Array.isArray(trigger.args) ? trigger.args.length : 0
    if (overloads.length === 0) {
      const message = `must name a view or pure function in abi; got ${showValue(name)} (view functions: ${listNames(namesOf(views, 'function'))})`
      issues.push({ path: 'trigger.functionName', message })
    } else if (!overloads.some((inputs) => inputs.length === argCount)) {
      const takes = overloads.map((inputs) => inputs.length).join(' or ')
      issues.push({
        path: 'trigger.args',
        message: `must hold ${takes} value(s) for ${name}; got ${argCount}`,
      })
    }
    return issues
  },
  index(functions, tools) {
    if (functions.length === 0) return undefined
    const watched: Watched[] = functions.map(({ name, trigger }) => {
      const [address] = tools.resolve(trigger.contract, name) as [Address]
      return { functionName: name, id: `${name}:condition`, trigger, address }
    })
    return async (plan) => {
      for (const c of await evaluate(watched, plan)) {
        if (c.fired) plan.job(c.functionName, 'condition', { condition: { value: c.result } })
      }
    }
  },
})

/** Reads the conditions due at this block, all at once, and records each one's value. */
async function evaluate(watched: readonly Watched[], plan: BlockPlan) {
  const { block } = plan
  const active = watched.filter((c) => block.number % BigInt(c.trigger.everyBlocks ?? 1) === 0n)
  if (active.length === 0) return []
  const previous = await plan.store.getConditions(active.map((c) => c.id))
  const results = await Promise.all(
    active.map(async (c) => {
      try {
        const result = await plan.chain.readContract({
          address: c.address,
          abi: c.trigger.abi,
          functionName: c.trigger.functionName,
          args: c.trigger.args ?? [],
          blockNumber: block.number,
        })
        const value = Boolean(result)
        return { id: c.id, functionName: c.functionName, value, result, fired: value && !previous.get(c.id) }
      } catch (error) {
        plan.warn(`Condition of '${c.functionName}' failed at block ${block.number}: ${error}`)
        return null
      }
    }),
  )
  const evaluated = results.filter((r) => r !== null)
  for (const c of evaluated) plan.setCondition(c.id, c.value)
  return evaluated
}
