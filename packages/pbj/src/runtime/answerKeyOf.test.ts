import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testAbiSource, testInput } from '../../../../test/fixtures/testFunctions.js'
import { answerKeyOf, argsOfAnswerKey } from './answerKeyOf.js'
import { createSandbox } from './createSandbox.js'
import { loadFunction } from './loadFunction.js'
import type { HostApi, HostMethod, SandboxInput } from './sandboxTypes.js'

const dir = makeFunctionsDir()
const sandbox = createSandbox()
afterAll(() => {
  sandbox.dispose()
  dir.remove()
})

describe('answerKeyOf', () => {
  it('tells apart arguments the host could tell apart', () => {
    const keys = [
      [5n],
      ['5'],
      [5],
      ['n5'],
      [true],
      ['true'],
      [null],
      [undefined],
      [],
      [{ a: undefined }],
      [{}],
      [[1n, 2n]],
      [['1', '2']],
    ].map(answerKeyOf)
    expect(keys.every((k) => typeof k === 'string')).toBe(true)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('gives back the arguments a key was made from', () => {
    const args = [
      { contract: 'CarLoan', functionName: 'getLoan', args: [7n, '7', 7, true, null, ['n1', 2n]] },
    ]
    expect(argsOfAnswerKey(answerKeyOf(args) as string)).toEqual(args)
    const again = argsOfAnswerKey(answerKeyOf(args) as string)
    expect(answerKeyOf(again)).toBe(answerKeyOf(args))
  })

  it('gives no key for what JSON would not keep exactly', () => {
    for (const odd of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      new Date(0),
      new Uint8Array([1]),
      () => 1,
      Symbol('s'),
      { toJSON: () => 'x' },
      new (class Loan {})(),
    ])
      expect(answerKeyOf([{ args: [odd] }])).toBeNull()
  })

  it('matches the key the isolate makes: a read with the same arguments is answered inside, once; others cross', async () => {
    await sandbox.load(
      await loadFunction(
        dir.write(
          'answered',
          `const abi = ${testAbiSource}
const read = (args) => ({ contract: 'CarLoan', abi, functionName: 'isDelinquent', args })
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    const a = await ctx.chain.read(read([5n]))
    const b = await ctx.chain.read(read(['5']))
    const c = await ctx.chain.read(read([5n]))
    const [d, e] = await Promise.all([ctx.chain.read(read([{ n: [1n, 'x', true, null, undefined] }])), ctx.kv.get('k')])
    return [a, b, c, d, e]
  },
})`,
        ),
      ),
    )
    const seen: [HostMethod, string | null][] = []
    const host: HostApi = async (method, args) => {
      seen.push([method, answerKeyOf(args)])
      return `host-${seen.length - 1}`
    }
    const first = await sandbox.run('answered', testInput(), host)
    expect(first).toMatchObject({ ok: true, value: ['host-0', 'host-1', 'host-2', 'host-3', 'host-4'] })
    const keys = seen.map(([, key]) => key as string)
    expect(keys[0]).toBe(keys[2])

    seen.length = 0
    // The host's keys, made outside the isolate: the first read, the nested one, and kv.get's (never answered).
    const answers: [string, unknown][] = [
      [keys[0] as string, 'answered-a'],
      [keys[3] as string, 'answered-d'],
      [keys[4] as string, 'answered-e'],
    ]
    const input = { ...testInput(), answers } as SandboxInput
    const second = await sandbox.run('answered', input, host)
    expect(second).toMatchObject({
      ok: true,
      value: ['answered-a', 'host-0', 'host-1', 'answered-d', 'host-2'],
    })
    expect(seen.map(([method]) => method)).toEqual(['chain.read', 'chain.read', 'kv.get'])
  })
})
