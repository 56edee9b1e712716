import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testInput } from '../../../../test/fixtures/testFunctions.js'
import { PbjError } from '../internal/errors.js'
import { stringifyJson } from '../internal/json.js'
import { createSandbox } from './createSandbox.js'
import { loadFunction } from './loadFunction.js'
import type { HostApi, RunInput, RunOptions, RunResult, Sandbox } from './sandboxTypes.js'

const dir = makeFunctionsDir()
const sandbox = createSandbox({ timeoutMs: 300, memoryMb: 32 })
afterAll(() => {
  sandbox.dispose()
  dir.remove()
})

const host: HostApi = async () => null
const at = (number: bigint): RunInput => testInput({ block: { number, hash: '0x00', timestamp: number } })

// Runs asked for together wait while the first is in the isolate, then go in one batch.
const together = (name: string, inputs: readonly RunInput[], options: RunOptions = {}) =>
  Promise.all(inputs.map((input) => sandbox.run(name, input, host, options)))

/**
 * Run 1 makes two ctx calls (the second held by the host); run 2 makes two, then fills its memory: the
 * isolate ends with both going, so the sandbox runs each again alone. The test of RunOptions.onRerun.
 */
const rerunBody = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    const n = ctx.block.number
    if (n === 2n) {
      await ctx.kv.get('wait 2')
      await ctx.kv.get('wait2 2')
      const hog = []
      while (true) hog.push(new Array(1e5).fill(Math.random()))
    }
    await ctx.kv.get('a ' + n)
    await ctx.kv.get('b ' + n)
    return 'fine'
  },
})`

/** Runs blocks 1 and 2 of `name` together (after one run that makes them wait); what the host saw, in order. */
async function runTheRerunScenario(sandbox: Sandbox, name: string) {
  const events: string[] = []
  let held = false
  const host = async (_method: string, args: unknown[]) => {
    const what = String(args[0])
    events.push(what)
    // The first `b 1` is never answered: run 1 is still going when run 2 ends the isolate.
    if (what === 'b 1' && !held) {
      held = true
      return new Promise<null>(() => {})
    }
    return null
  }
  const at = (number: bigint) => testInput({ block: { number, hash: '0x00', timestamp: number } })
  const first = sandbox.run(name, at(100n), host)
  const runs = [1n, 2n].map((n) =>
    sandbox.run(name, at(n), host, { onRerun: () => events.push(`rerun ${n}`) }),
  )
  await first
  return { events, results: await Promise.all(runs) }
}

describe('runs of one function asked for together (batches)', () => {
  it('keeps each run its own ctx, logs and result', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    console.log('console', ctx.block.number)
    await ctx.kv.get('k')
    ctx.log.info('after', ctx.block.number)
    if (ctx.block.number % 5n === 0n) throw new Error('five ' + ctx.block.number)
    return ctx.block.number * 2n
  },
})`
    await sandbox.load(await loadFunction(dir.write('echo', body)))
    const results = await together(
      'echo',
      Array.from({ length: 40 }, (_, i) => at(BigInt(i + 1))),
    )
    results.forEach((result, i) => {
      const n = BigInt(i + 1)
      expect(result.logs.map((l) => l.message)).toEqual([`console ${n}n`, `after ${n}n`])
      if (n % 5n === 0n) expect(result).toMatchObject({ ok: false, error: { reason: 'threw' } })
      else expect(result).toMatchObject({ ok: true, value: n * 2n })
    })
  })

  it('fails only the run that timed out; the runs after it run again in a fresh isolate', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    if (ctx.block.number === 3n) { ctx.log.info('spinning'); while (true) {} }
    return 'fine ' + ctx.block.number
  },
})`
    await sandbox.load(await loadFunction(dir.write('spinThird', body)))
    // One run first, so the next six wait together behind it.
    const first = sandbox.run('spinThird', at(100n), host)
    const rest = together('spinThird', [1n, 2n, 3n, 4n, 5n, 6n].map(at))
    expect(await first).toMatchObject({ ok: true })
    const results = await rest
    expect(results.map((r) => (r.ok ? r.value : (r.error as { reason?: string }).reason))).toEqual([
      'fine 1',
      'fine 2',
      'timeout',
      'fine 4',
      'fine 5',
      'fine 6',
    ])
    const spun = results[2] as RunResult
    expect(spun.logs[0]?.message).toBe('spinning')
    expect(spun.durationMs).toBeGreaterThanOrEqual(290)
  })

  it('fails only the run that ran out of memory', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    if (ctx.block.number === 2n) { const hog = []; while (true) hog.push(new Array(1e5).fill(Math.random())) }
    return 'fine'
  },
})`
    await sandbox.load(await loadFunction(dir.write('hogSecond', body)))
    const first = sandbox.run('hogSecond', at(100n), host)
    // A timeout far past the time to fill 32 MB: on a loaded machine 300 ms ended the hog before its memory did.
    const results = await together('hogSecond', [1n, 2n, 3n].map(at), { timeoutMs: 10_000 })
    await first
    expect(results.map((r) => (r.ok ? r.value : (r.error as { reason?: string }).reason))).toEqual([
      'fine',
      'memory',
      'fine',
    ])
  })

  it('tells the host before it runs a run again from its start, so its ctx calls are numbered anew', async () => {
    await sandbox.load(await loadFunction(dir.write('rerunTold', rerunBody)))
    const { events, results } = await runTheRerunScenario(sandbox, 'rerunTold')
    // Run 2 fails alone (memory, or its timeout on a slow machine); run 1 succeeds.
    expect(results.map((r) => r.ok)).toEqual([true, false])
    // Run 1's calls before the isolate ended, then the host is told, then the same calls from the start.
    expect(events.filter((e) => e.endsWith(' 1'))).toEqual(['a 1', 'b 1', 'rerun 1', 'a 1', 'b 1'])
    expect(events.indexOf('rerun 2')).toBeGreaterThan(events.indexOf('wait2 2'))
  })

  it('lets the next batch in while the runs of the one before wait on ctx calls', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    await ctx.kv.get('k ' + ctx.block.number)
    return 'fine'
  },
})`
    await sandbox.load(await loadFunction(dir.write('waitForAll', body)))
    // More runs than one batch carries; no call is answered until every run has made its own, so they
    // end only if each batch entered while those before it waited.
    const count = 1_100
    let calls = 0
    let release: () => void = () => undefined
    const everyCallIn = new Promise<void>((resolve) => {
      release = resolve
    })
    const holdAll: HostApi = async () => {
      if (++calls === count) release()
      await everyCallIn
      return null
    }
    const runs = Array.from({ length: count }, (_, i) =>
      sandbox.run('waitForAll', at(BigInt(i + 1)), holdAll, { timeoutMs: 20_000 }),
    )
    const results = await Promise.all(runs)
    expect(results.filter((r) => r.ok)).toHaveLength(count)
  })

  it('blames a run only when it alone was going in the isolate, whatever batch it came in', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    if (ctx.block.number === 2n) {
      await ctx.kv.get('go 2')
      const hog = []
      while (true) hog.push(new Array(1e5).fill(Math.random()))
    }
    await ctx.kv.get('wait 1')
    return 'fine'
  },
})`
    await sandbox.load(await loadFunction(dir.write('hogLater', body)))
    const events: string[] = []
    const options = (n: number): RunOptions => ({
      timeoutMs: 10_000,
      onRerun: () => events.push(`rerun ${n}`),
    })
    let second: Promise<RunResult> | undefined
    // Run 1's first call is never answered; run 2 is asked for once it waits on it, so goes in a batch of
    // its own while run 1 is still in the isolate, and fills the memory there.
    const host: HostApi = async (_method, args) => {
      const what = String(args[0])
      events.push(what)
      if (what === 'wait 1' && !second) {
        second = sandbox.run('hogLater', at(2n), host, options(2))
        return new Promise<null>(() => {})
      }
      return null
    }
    const first = await sandbox.run('hogLater', at(1n), host, options(1))
    const hog = await (second as Promise<RunResult>)
    // Both were going when the isolate ended: each ran again alone, and only the hog failed.
    expect(first).toMatchObject({ ok: true, value: 'fine' })
    expect(hog.ok).toBe(false)
    expect(events).toContain('rerun 1')
    expect(events).toContain('rerun 2')
  })

  it('rejects only the run whose input cannot enter the sandbox', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  handler(ctx) { return ctx.block.number },
})`
    await sandbox.load(await loadFunction(dir.write('plain', body)))
    const first = sandbox.run('plain', at(100n), host)
    const runs = [at(1n), { ...at(2n), condition: { value: () => 1 } } as RunInput, at(3n)].map((input) =>
      sandbox.run('plain', input, host).then(
        (r) => r,
        (e: unknown) => e,
      ),
    )
    await first
    const [one, two, three] = await Promise.all(runs)
    expect(one).toMatchObject({ ok: true, value: 1n })
    expect(two).toBeInstanceOf(PbjError)
    expect(three).toMatchObject({ ok: true, value: 3n })
  })

  it('parses a job input given as JSON inside the isolate, bigints included', async () => {
    const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  handler(ctx) { return [ctx.block.number, ctx.event.args.amount, ctx.run.jobId, ctx.secrets.API_KEY] },
})`
    await sandbox.load(await loadFunction(dir.write('fromJson', body)))
    const { run, secrets, ...rest } = testInput({
      event: {
        name: 'Paid',
        args: { amount: 10n ** 30n },
        address: '0x00',
        logIndex: 0,
        transactionHash: '0x00',
      },
    })
    const result = await sandbox.run('fromJson', { json: stringifyJson(rest), run, secrets }, host)
    expect(result).toMatchObject({ ok: true, value: [100n, 10n ** 30n, 'job-1', 'secret'] })
  })
})
