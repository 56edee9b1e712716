import { describe, expect, it } from 'vitest'
import { FunctionBuildError } from '../internal/errors.js'
import { parseFunctionData } from './parseFunctionData.js'

const abi = [
  {
    type: 'event',
    name: 'InstallmentPaid',
    inputs: [
      { name: 'loanId', type: 'uint256', indexed: true },
      { name: 'lockAt', type: 'uint64', indexed: false },
    ],
  },
  { type: 'event', name: 'LoanRepaid', inputs: [{ name: 'loanId', type: 'uint256', indexed: true }] },
  {
    type: 'function',
    name: 'isDelinquent',
    stateMutability: 'view',
    inputs: [{ name: 'id', type: 'uint256' }],
    outputs: [],
  },
  { type: 'function', name: 'pay', stateMutability: 'nonpayable', inputs: [], outputs: [] },
]

function messageOf(data: unknown): string {
  try {
    parseFunctionData(data, 'functions/x.ts')
  } catch (error) {
    expect(error).toBeInstanceOf(FunctionBuildError)
    return (error as FunctionBuildError).message
  }
  throw new Error('expected a FunctionBuildError')
}

describe('parseFunctionData', () => {
  it('accepts every trigger kind', () => {
    const triggers = [
      { type: 'event', contract: 'CarLoan', abi, event: 'InstallmentPaid', args: { loanId: 1n } },
      {
        type: 'condition',
        contract: 'CarLoan',
        abi,
        functionName: 'isDelinquent',
        args: [1n],
        everyBlocks: 5,
      },
      { type: 'schedule', every: 3600, confirmation: 'instant' },
      { type: 'blocks', every: 10, confirmation: { confirmations: 3 } },
      {
        type: 'deadline',
        contract: ['0x0000000000000000000000000000000000000001'],
        abi,
        set: { InstallmentPaid: { key: 'loanId', at: 'lockAt' } },
        clear: { LoanRepaid: { key: 'loanId' } },
      },
    ]
    for (const trigger of triggers) expect(parseFunctionData({ trigger }, 'x.ts').trigger).toEqual(trigger)
    expect(parseFunctionData({ trigger: triggers[3], limits: { timeoutMs: 5 } }, 'x.ts').limits).toEqual({
      timeoutMs: 5,
    })
  })

  it('names the file, the field and the bad value', () => {
    expect(messageOf({ trigger: { type: 'blocks', every: -1 } })).toMatch(
      /^functions\/x\.ts: trigger\.every must be a positive integer \(number of blocks\); got -1$/m,
    )
    expect(messageOf({ trigger: { type: 'blocks', every: 0 } })).toContain(
      'trigger.every must be a positive integer',
    )
    expect(messageOf({ trigger: { type: 'blok' } })).toContain(
      "trigger.type must be one of 'event', 'condition'",
    )
    expect(messageOf({ trigger: { type: 'blocks', every: 2, evry: 3 } })).toContain(
      'trigger.evry is not a known field',
    )
    expect(messageOf({ trigger: { type: 'schedule' } })).toContain('trigger needs `at`')
    expect(messageOf({ trigger: { type: 'blocks', every: 1 }, limits: { memoryMb: 4 } })).toContain(
      'limits.memoryMb must be an integer from 8 to 4096 (MB); got 4',
    )
    expect(messageOf({})).toContain('trigger must be an object')
  })

  it('checks names against the ABI', () => {
    const event = { type: 'event', contract: 'CarLoan', abi }
    expect(messageOf({ trigger: { ...event, event: 'Nope' } })).toContain(
      "trigger.event must name an event in abi; got 'Nope' (events: InstallmentPaid, LoanRepaid)",
    )
    expect(messageOf({ trigger: { ...event, event: 'InstallmentPaid', args: { loan: 1n } } })).toContain(
      "trigger.args.loan must name an input of event InstallmentPaid; got 'loan' (inputs: loanId, lockAt)",
    )
    const deadline = {
      type: 'deadline',
      contract: 'CarLoan',
      abi,
      set: { InstallmentPaid: { key: 'loanId', at: 'when' } },
    }
    expect(messageOf({ trigger: deadline })).toContain('trigger.set.InstallmentPaid.at must name an input')
    expect(messageOf({ trigger: { ...deadline, set: { Gone: { key: 'a', at: 'b' } } } })).toContain(
      "trigger.set.Gone must name an event in abi; got 'Gone'",
    )
    const condition = { type: 'condition', contract: 'CarLoan', abi }
    expect(messageOf({ trigger: { ...condition, functionName: 'pay' } })).toContain(
      'trigger.functionName must name a view or pure function in abi',
    )
    expect(messageOf({ trigger: { ...condition, functionName: 'isDelinquent' } })).toContain(
      'trigger.args must hold 1 value(s) for isDelinquent; got 0',
    )
  })

  it('lists every problem and hints with an example of the trigger kind', () => {
    const error = (() => {
      try {
        parseFunctionData({ trigger: { type: 'event', contract: 5, abi: 'x', event: 'A' } }, 'functions/x.ts')
      } catch (e) {
        return e as FunctionBuildError
      }
    })()
    expect(error?.shortMessage).toContain('(and 1 more)')
    expect(error?.details).toContain('trigger.abi must be an ABI array')
    expect(error?.hint).toContain("type: 'event'")
  })
})
