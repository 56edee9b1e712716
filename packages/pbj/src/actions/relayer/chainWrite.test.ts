import { testUsdAbi } from '@pbj/contracts'
import type { Address } from 'viem'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Job } from '../../core/job.js'
import type { WriteResult } from '../../function/ctx.js'
import { defineFunction } from '../../function/defineFunction.js'
import { type ChainWriteServices, chainWrite } from './chainWrite.js'
import type { Relayer } from './createRelayer.js'
import type { SendRequest } from './types.js'

const to: Address = '0x000000000000000000000000000000000000dEaD'
const usd: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const job = { id: '31337:0xabc:schedule:mint', functionName: 'mint' } as Job

/** Services with just what chainWrite reads, and a relayer that records what it is asked to send. */
function commonWith(relayer: boolean, confirmation?: unknown) {
  const sent: SendRequest[] = []
  const common = {
    contracts: { TestUSD: usd },
    functions: new Map([['mint', { trigger: { type: 'blocks', every: 1, confirmation } }]]),
    relayer: relayer
      ? ({
          send: async (r: SendRequest) => {
            sent.push(r)
            return { key: r.idempotencyKey, txHash: `0x${'1'.repeat(64)}`, nonce: 4, status: 'pending' }
          },
        } as unknown as Relayer)
      : null,
  } as unknown as ChainWriteServices
  return { common, sent }
}

describe('chainWrite', () => {
  it('encodes the call and keys it by job and call index, with the trigger’s confirmation', async () => {
    const { common, sent } = commonWith(true, { confirmations: 2 })
    const params = { contract: 'TestUSD', abi: testUsdAbi, functionName: 'mint', args: [to, 5n], value: 0n }
    expect(await chainWrite(common, job, params, 3)).toEqual({ hash: `0x${'1'.repeat(64)}`, nonce: 4 })
    expect(sent).toEqual([
      {
        idempotencyKey: `${job.id}:w3`,
        to: usd,
        data: expect.stringMatching(/^0x40c10f19/),
        value: 0n,
        confirmation: { confirmations: 2 },
      },
    ])
  })

  it('says what is missing: an operator key, the params, a bigint value, an encodable call', async () => {
    const params = { contract: 'TestUSD', abi: testUsdAbi, functionName: 'mint', args: [to, 5n] }
    await expect(chainWrite(commonWith(false).common, job, params, 0)).rejects.toThrow(
      'needs an operator key',
    )
    const { common, sent } = commonWith(true)
    await expect(chainWrite(common, job, { contract: 'TestUSD' }, 0)).rejects.toThrow('needs { contract, abi')
    await expect(chainWrite(common, job, { ...params, value: 1 }, 0)).rejects.toThrow(
      'value must be a bigint',
    )
    await expect(chainWrite(common, job, { ...params, args: [to] }, 0)).rejects.toThrow('cannot encode mint')
    await expect(chainWrite(common, job, { ...params, contract: 'Nope' }, 0)).rejects.toThrow(
      'not a known contract',
    )
    expect(sent).toEqual([])
  })

  // Checked by `tsc` (part of `npm test`): the write's function name and arguments are typed from the ABI.
  it('is typed from the ABI', () => {
    defineFunction({
      trigger: { type: 'blocks', every: 1 },
      async handler(ctx) {
        const abi = testUsdAbi
        const sent = await ctx.chain.write({ contract: 'TestUSD', abi, functionName: 'mint', args: [to, 1n] })
        expectTypeOf(sent).toEqualTypeOf<WriteResult>()
        // @ts-expect-error a view is not a write
        await ctx.chain.write({ contract: 'TestUSD', abi, functionName: 'balanceOf' })
        // @ts-expect-error mint takes (address, uint256)
        await ctx.chain.write({ contract: 'TestUSD', abi, functionName: 'mint', args: [to, 'one'] })
        // @ts-expect-error value is wei as a bigint
        await ctx.chain.write({ contract: 'TestUSD', abi, functionName: 'mint', args: [to, 1n], value: 1 })
      },
    })
  })
})
