import { carLoanAbi } from '@pbj/contracts'
import type { Address } from 'viem'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { defineFunction } from './defineFunction.js'

// These assertions are checked by `tsc` (part of `npm test`): ABI types must reach ctx without any
// hand-written event or return types.
describe('defineFunction', () => {
  it('is an identity at run time', () => {
    const definition = {
      trigger: { type: 'blocks', every: 2 },
      handler: () => {},
    } as const
    expect(defineFunction(definition)).toBe(definition)
  })

  it('types event args and view results from the ABI', () => {
    defineFunction({
      trigger: {
        type: 'event',
        contract: 'CarLoan',
        abi: carLoanAbi,
        event: 'InstallmentPaid',
        args: { loanId: 1n },
      },
      async handler(ctx) {
        expectTypeOf(ctx.event.args.loanId).toEqualTypeOf<bigint>()
        expectTypeOf(ctx.event.args.payer).toEqualTypeOf<Address>()
        expectTypeOf(ctx.event.args.nextDueAt).toEqualTypeOf<bigint>()
        // @ts-expect-error InstallmentPaid has no such arg
        ctx.event.args.car
        const delinquent = await ctx.chain.read({
          contract: 'CarLoan',
          abi: carLoanAbi,
          functionName: 'isDelinquent',
          args: [ctx.event.args.loanId],
        })
        expectTypeOf(delinquent).toEqualTypeOf<boolean>()
        const loan = await ctx.chain.read({
          contract: 'CarLoan',
          abi: carLoanAbi,
          functionName: 'getLoan',
          args: [1n],
        })
        expectTypeOf(loan.car).toEqualTypeOf<Address>()
      },
    })
  })

  it('refuses events, filters and deadline fields the ABI does not have', () => {
    defineFunction({
      // @ts-expect-error no such event in the ABI
      trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'LoanDefaulted' },
      handler() {},
    })
    defineFunction({
      trigger: {
        type: 'deadline',
        contract: 'CarLoan',
        abi: carLoanAbi,
        // @ts-expect-error LoanOpened has no arg named dueDate
        set: { LoanOpened: { key: 'loanId', at: 'dueDate' } },
      },
      handler(ctx) {
        expectTypeOf(ctx.deadline.at).toEqualTypeOf<bigint>()
      },
    })
  })

  it("gives each kind's runs their own ctx field, and no other kind's", () => {
    defineFunction({
      trigger: { type: 'schedule', every: 60 },
      handler(ctx) {
        expectTypeOf(ctx.schedule.at).toEqualTypeOf<bigint>()
        // @ts-expect-error a schedule run has no deadline
        ctx.deadline
      },
    })
    defineFunction({
      trigger: { type: 'condition', contract: 'CarLoan', abi: carLoanAbi, functionName: 'isDelinquent' },
      handler(ctx) {
        expectTypeOf(ctx.condition.value).toEqualTypeOf<unknown>()
        expectTypeOf(ctx.block.number).toEqualTypeOf<bigint>()
      },
    })
    defineFunction({
      trigger: { type: 'blocks', every: 1 },
      handler(ctx) {
        // @ts-expect-error a blocks run has no event
        ctx.event
      },
    })
  })

  it('types capabilities: actions are checked, declared secrets reach ctx.secrets', () => {
    const definition = defineFunction({
      trigger: { type: 'blocks', every: 1 },
      capabilities: {
        devices: { actions: ['lock', 'warn'] },
        write: [{ contract: '*', functionName: 'payDue()', maxValue: 0n }],
        secrets: ['API_KEY'],
      },
      handler(ctx) {
        expectTypeOf(ctx.secrets.API_KEY).toEqualTypeOf<string>()
      },
    })
    expect(definition.capabilities?.secrets).toEqual(['API_KEY'])
    defineFunction({
      trigger: { type: 'blocks', every: 1 },
      // @ts-expect-error 'fly' is not a device action
      capabilities: { devices: { actions: ['fly'] } },
      handler() {},
    })
  })
})
