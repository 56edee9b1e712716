import { carLoanAbi } from '@pbj/contracts'
import { type AbiEvent, decodeEventLog, encodeAbiParameters, encodeEventTopics, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { compileArgReader } from './compileArgReader.js'

const event = (name: string) =>
  carLoanAbi.find((x) => x.type === 'event' && x.name === name) as unknown as AbiEvent

/** A LoanOpened log as a node returns it (lowercase hex). */
const loanOpened = () => {
  const e = event('LoanOpened')
  const topics = encodeEventTopics({
    abi: [e],
    eventName: 'LoanOpened',
    args: {
      loanId: 42n,
      borrower: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      car: '0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B',
    },
  } as never) as Hex[]
  const plain = e.inputs.filter((i) => !('indexed' in i && i.indexed))
  const values = [
    '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    10n ** 18n,
    2_592_000n,
    604_800n,
    12n * 10n ** 18n,
    1_800_000_000n,
    1_800_604_800n,
    1_800_000_001n,
    1_800_432_000n,
  ]
  return { topics: topics.map((t) => t.toLowerCase() as Hex), data: encodeAbiParameters(plain, values) }
}

describe('compileArgReader', () => {
  it('reads what decodeEventLog decodes: indexed and plain uints, checksummed addresses', () => {
    const e = event('LoanOpened')
    const log = loanOpened()
    const args = decodeEventLog({ abi: [e], topics: log.topics as [Hex, ...Hex[]], data: log.data })
      .args as Record<string, unknown>
    for (const name of ['loanId', 'car', 'borrower', 'wallet', 'lockAt', 'warnAt', 'installment'])
      expect(compileArgReader(e, name)?.(log as never)).toEqual(args[name])
  })

  it('gives undefined for a log not laid out as the event says, so the caller decodes it in full', () => {
    const e = event('LoanOpened')
    const log = loanOpened()
    const read = compileArgReader(e, 'lockAt')
    expect(read?.({ ...log, data: log.data.slice(0, -64) as Hex } as never)).toBeUndefined()
    expect(read?.({ ...log, topics: log.topics.slice(0, 3) } as never)).toBeUndefined()
  })

  it('is null for arguments it cannot read from a fixed place', () => {
    const dynamic = {
      type: 'event',
      name: 'Named',
      inputs: [
        { name: 'id', type: 'uint256', indexed: true },
        { name: 'label', type: 'string', indexed: false },
        { name: 'at', type: 'uint64', indexed: false },
      ],
    } as const satisfies AbiEvent
    expect(compileArgReader(dynamic, 'at')).toBeNull()
    expect(compileArgReader(event('LoanOpened'), 'missing')).toBeNull()
  })
})
