import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testAbiSource, testInput } from '../../../../test/fixtures/testFunctions.js'
import { FunctionRunError, PbjError } from '../internal/errors.js'
import { createSandbox } from './createSandbox.js'
import { loadFunction } from './loadFunction.js'
import type { HostApi, HostMethod } from './sandboxTypes.js'

const dir = makeFunctionsDir()
const sandbox = createSandbox()
afterAll(() => {
  sandbox.dispose()
  dir.remove()
})

const blocks = "trigger: { type: 'blocks', every: 1 }"
const noHost: HostApi = async (method) => {
  throw new Error(`unexpected ${method}`)
}

async function define(name: string, body: string) {
  const bundle = await loadFunction(dir.write(name, body))
  await sandbox.load(bundle)
  return bundle
}

function failure(result: Awaited<ReturnType<typeof sandbox.run>>) {
  if (result.ok) throw new Error(`expected a failure, got ${String(result.value)}`)
  return result.error
}

describe('createSandbox', () => {
  it('passes bigints both ways: event args, block, chain.read results and return values', async () => {
    await define(
      'paid',
      `const abi = ${testAbiSource}
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi, event: 'InstallmentPaid' },
  async handler(ctx) {
    const late = await ctx.chain.read({ contract: 'CarLoan', abi, functionName: 'isDelinquent', args: [ctx.event.args.loanId] })
    const due = await ctx.chain.read({ contract: 'CarLoan', abi, functionName: 'isDelinquent', args: [2n] })
    return { kinds: [typeof ctx.event.args.loanId, typeof ctx.block.number, typeof due], late, next: due + ctx.event.args.amount }
  },
})`,
    )
    const calls: [HostMethod, unknown[]][] = []
    const host: HostApi = async (method, args) => {
      calls.push([method, args])
      return calls.length === 1 ? true : 10n ** 30n
    }
    const event = {
      name: 'InstallmentPaid',
      args: { loanId: 1n, amount: 5n },
      address: '0x01',
      logIndex: 0,
      transactionHash: '0x02',
    } as const
    const result = await sandbox.run('paid', testInput({ event }), host)
    expect(result).toMatchObject({
      ok: true,
      value: { kinds: ['bigint', 'bigint', 'bigint'], late: true, next: 10n ** 30n + 5n },
    })
    expect(calls[0]?.[0]).toBe('chain.read')
    expect(calls[0]?.[1]).toMatchObject([{ contract: 'CarLoan', functionName: 'isDelinquent', args: [1n] }])
  })

  it('captures ctx.log and console, formatted and in order', async () => {
    await define(
      'logs',
      `export default defineFunction({ ${blocks},
  handler(ctx) {
    ctx.log.info('block', ctx.block.number, { id: 1n, list: [2n, 'x'], nested: { ok: true } })
    console.log('console', 1, null, undefined)
    console.debug('debug')
    console.warn('careful')
    ctx.log.error(new Error('bad thing'))
    const loop = { name: 'loop' }; loop.self = loop
    console.info(loop)
  },
})`,
    )
    const result = await sandbox.run('logs', testInput(), noHost)
    expect(result.ok).toBe(true)
    expect(result.logs.map((l) => [l.level, l.message.split('\n')[0]])).toEqual([
      ['info', 'block 100n {"id":1n,"list":[2n,"x"],"nested":{"ok":true}}'],
      ['info', 'console 1 null undefined'],
      ['info', 'debug'],
      ['warn', 'careful'],
      ['error', 'Error: bad thing'],
      ['info', '{"name":"loop","self":"[Circular]"}'],
    ])
    expect(typeof result.logs[0]?.at).toBe('number')
  })

  it('caps the lines and the length of a line', async () => {
    await define(
      'chatty',
      `export default defineFunction({ ${blocks}, handler() { console.log('x'.repeat(10000)); for (let i = 0; i < 300; i++) console.log(i) } })`,
    )
    const result = await sandbox.run('chatty', testInput(), noHost)
    expect(result.logs).toHaveLength(201)
    expect(result.logs[0]?.message.length).toBeLessThan(4200)
    expect(result.logs[199]?.message).toBe('198')
    expect(result.logs[200]).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('101 more log line(s) dropped'),
    })
  })

  it('turns a thrown Error into FunctionRunError threw, with a stack pointing at the source file', async () => {
    const bundle = await define(
      'thrower',
      `export default defineFunction({ ${blocks},\n  handler() {\n    throw new TypeError('no loan')\n  },\n})`,
    )
    const error = failure(await sandbox.run('thrower', testInput(), noHost))
    expect(error).toBeInstanceOf(FunctionRunError)
    expect(error).toMatchObject({
      reason: 'threw',
      shortMessage: "Function 'thrower' threw: TypeError: no loan",
    })
    expect(error.details).toContain(`${bundle.file.split('/').pop()}:4:11`)
    expect(error.details).not.toContain('pbj:bootstrap')
  })

  it.each([
    ['42', '42'],
    ["'oops'", '"oops"'],
    ['undefined', 'undefined'],
    ['{ code: 7n }', '{"code":7n}'],
  ])('turns throw %s into FunctionRunError threw a non-Error value', async (value, shown) => {
    await define(
      'throwsValue',
      `export default defineFunction({ ${blocks}, async handler() { throw ${value} } })`,
    )
    const error = failure(await sandbox.run('throwsValue', testInput(), noHost))
    expect(error).toMatchObject({
      reason: 'threw',
      shortMessage: `Function 'throwsValue' threw a non-Error value: ${shown}`,
    })
  })

  it('gives host rejections to user code as Errors, and reports uncaught ones as host-call', async () => {
    await define(
      'locker',
      `export default defineFunction({ ${blocks},
  async handler(ctx) {
    let caught = ''
    try { await ctx.kv.get('x') } catch (e) { caught = (e instanceof Error) + ':' + e.message }
    ctx.log.info(caught)
    await ctx.devices.lock('car-1', { reason: 'late' })
  },
})`,
    )
    const brokerAway = new Error('broker away')
    const host: HostApi = async (method) => {
      if (method === 'kv.get') throw new Error('kv is down')
      throw brokerAway
    }
    const result = await sandbox.run('locker', testInput(), host)
    const error = failure(result)
    expect(result.logs[0]?.message).toBe('true:kv is down')
    expect(error).toMatchObject({
      reason: 'host-call',
      shortMessage: "Function 'locker' failed in ctx.devices.lock(): broker away",
    })
    expect(error.cause).toBe(brokerAway)
  })

  it('keeps secrets frozen and ignores return values that cannot leave the sandbox', async () => {
    await define(
      'secrets',
      `export default defineFunction({ ${blocks},
  handler(ctx) {
    'use strict'
    try { ctx.secrets.API_KEY = 'changed' } catch (e) { ctx.log.info(e.constructor.name) }
    return ctx.block.number === 1n ? new Map() : { key: ctx.secrets.API_KEY, frozen: Object.isFrozen(ctx.secrets) }
  },
})`,
    )
    expect(await sandbox.run('secrets', testInput(), noHost)).toMatchObject({
      ok: true,
      value: { key: 'secret', frozen: true },
      logs: [{ message: 'TypeError' }],
    })
    const weird = await sandbox.run(
      'secrets',
      testInput({ block: { number: 1n, hash: '0x00', timestamp: 1n } }),
      noHost,
    )
    expect(weird).toMatchObject({ ok: true, value: undefined })
  })

  it('runs onReorg, and refuses unknown functions and missing entries clearly', async () => {
    await define(
      'reorg',
      `export default defineFunction({ ${blocks}, handler() { return 'h' }, onReorg() { return 'r' } })`,
    )
    expect(await sandbox.run('reorg', testInput(), noHost, { entry: 'onReorg' })).toMatchObject({
      ok: true,
      value: 'r',
    })
    await expect(sandbox.run('nobody', testInput(), noHost)).rejects.toThrow("No function named 'nobody'")
    await expect(sandbox.run('logs', testInput(), noHost, { entry: 'onReorg' })).rejects.toBeInstanceOf(
      PbjError,
    )
  })

  it('queues runs of one function and replaces a version on load', async () => {
    await define(
      'counter',
      `let n = 0\nexport default defineFunction({ ${blocks}, async handler(ctx) { await ctx.kv.get('k'); return ++n } })`,
    )
    const slowHost: HostApi = () => new Promise((resolve) => setTimeout(() => resolve(null), 20))
    const results = await Promise.all([1, 2, 3].map(() => sandbox.run('counter', testInput(), slowHost)))
    expect(results.map((r) => r.ok && r.value)).toEqual([1, 2, 3])
    await define('counter', `export default defineFunction({ ${blocks}, handler() { return 'v2' } })`)
    expect(await sandbox.run('counter', testInput(), noHost)).toMatchObject({ ok: true, value: 'v2' })
    expect(sandbox.has('counter')).toBe(true)
    sandbox.unload('counter')
    expect(sandbox.has('counter')).toBe(false)
  })

  it('sends the ctx calls of one turn in one batch; a call at fault fails alone, and no host call runs twice', async () => {
    await define(
      'batched',
      `export default defineFunction({ ${blocks},
  async handler(ctx) {
    const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ err: e.message }))
    // Three calls in one turn, the second with arguments that cannot leave the isolate.
    const first = await Promise.all([settle(ctx.kv.get('a')), settle(ctx.kv.get(() => 1)), settle(ctx.kv.get('b'))])
    // Two in one turn, the first answered with a result that cannot enter it.
    const second = await Promise.all([settle(ctx.kv.get('odd')), settle(ctx.kv.get('c'))])
    return { first, second }
  },
})`,
    )
    const calls: unknown[] = []
    const host: HostApi = async (_method, args) => {
      calls.push(args[0])
      return args[0] === 'odd' ? { fn() {} } : `value of ${String(args[0])}`
    }
    const result = await sandbox.run('batched', testInput(), host)
    expect(result).toMatchObject({
      ok: true,
      value: {
        first: [
          { ok: 'value of a' },
          { err: expect.stringContaining('ctx.kv.get() could not pass its arguments or result') },
          { ok: 'value of b' },
        ],
        second: [
          { err: expect.stringContaining('ctx.kv.get() could not pass its arguments or result') },
          { ok: 'value of c' },
        ],
      },
    })
    // The arguments' failure happened before the host: a and b reached it once each, after the batch was
    // sent call by call; the result's failure after it: odd and c ran once, and were not sent again.
    expect(calls).toEqual(['a', 'b', 'odd', 'c'])
  })

  it('tells uncopyable host results apart from uncopyable run inputs', async () => {
    await define(
      'copies',
      `export default defineFunction({ ${blocks},
  async handler(ctx) { try { return await ctx.kv.get('x') } catch (e) { return e.message } },
})`,
    )
    const odd = await sandbox.run('copies', testInput(), async () => ({ fn() {} }))
    expect(odd).toMatchObject({
      ok: true,
      value: expect.stringContaining('ctx.kv.get() could not pass its arguments or result'),
    })
    const input = { ...testInput(), secrets: { bad: (() => 1) as unknown as string } }
    await expect(sandbox.run('copies', input, noHost)).rejects.toThrow(
      "The input of a run of 'copies' cannot enter the sandbox",
    )
    expect(await sandbox.run('copies', testInput(), async () => 'still fine')).toMatchObject({
      value: 'still fine',
    })
  })

  it('rejects ctx calls made after the run ended', async () => {
    await define(
      'late',
      `let saved\nexport default defineFunction({ ${blocks},
  async handler(ctx) {
    if (saved) { try { await saved.kv.get('x') } catch (e) { return e.message } }
    saved = ctx
    return 'saved'
  },
})`,
    )
    expect(await sandbox.run('late', testInput(), async () => 1)).toMatchObject({ ok: true, value: 'saved' })
    expect(await sandbox.run('late', testInput(), async () => 1)).toMatchObject({
      ok: true,
      value: 'ctx.kv.get() was called after the run finished; await every ctx call',
    })
  })

  it('waits for ctx calls the handler did not await, and warns', async () => {
    await define(
      'forgetful',
      `export default defineFunction({ ${blocks}, handler(ctx) { ctx.devices.lock('car-1') } })`,
    )
    let done = false
    const host: HostApi = () =>
      new Promise((resolve) =>
        setTimeout(() => {
          done = true
          resolve(null)
        }, 30),
      )
    const result = await sandbox.run('forgetful', testInput(), host)
    expect(done).toBe(true)
    expect(result.logs.at(-1)).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('await every ctx call'),
    })
  })
})
