import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testAbiSource, testInput } from '../../../../test/fixtures/testFunctions.js'
import { FunctionBuildError, FunctionRunError, PbjError, SandboxCrashedError } from '../internal/errors.js'
import { createProcessSandbox } from './createProcessSandbox.js'
import { loadFunction } from './loadFunction.js'
import { fromChildSchema } from './sandboxMessages.js'
import type { HostApi, HostMethod, RunResult } from './sandboxTypes.js'

const dir = makeFunctionsDir()
const sandbox = createProcessSandbox({ timeoutMs: 1000, memoryMb: 32 })
afterAll(() => {
  sandbox.dispose()
  dir.remove()
})

const blocks = "trigger: { type: 'blocks', every: 1 }"
const noHost: HostApi = async (method) => {
  throw new Error(`unexpected ${method}`)
}

async function define(name: string, body: string, into = sandbox) {
  const bundle = await loadFunction(dir.write(name, body))
  await into.load(bundle)
  return bundle
}

function failure(result: RunResult) {
  if (result.ok) throw new Error(`expected a failure, got ${String(result.value)}`)
  return result.error
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A zombie has exited but was not reaped by its parent yet (Linux only; elsewhere: never). */
const isZombie = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true
  } catch {
    return false
  }
}

/**
 * Resolves once `pid` is gone. Our own children must also be reaped (a zombie still answers signal 0);
 * an orphan is reaped by init, so for it having exited is enough.
 */
async function gone(pid: number, { orphan = false } = {}) {
  const until = Date.now() + 5000
  while (isAlive(pid) && !(orphan && isZombie(pid))) {
    if (Date.now() > until) throw new Error(`process ${pid} is still there after 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A host whose first call never settles, and a promise of that call. */
function stuckHost() {
  let called: () => void = () => {}
  const reached = new Promise<void>((resolve) => {
    called = resolve
  })
  const host: HostApi = () => {
    called()
    return new Promise(() => {})
  }
  return { host, reached }
}

describe('createProcessSandbox', () => {
  it('runs a function in a child process, with ctx calls served by the parent and bigints both ways', async () => {
    expect(sandbox.pid()).toBeUndefined()
    await define(
      'paid',
      `const abi = ${testAbiSource}
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi, event: 'InstallmentPaid' },
  async handler(ctx) {
    ctx.log.info('loan', ctx.event.args.loanId)
    const due = await ctx.chain.read({ contract: 'CarLoan', abi, functionName: 'isDelinquent', args: [ctx.event.args.loanId] })
    return { kinds: [typeof ctx.event.args.loanId, typeof ctx.block.number, typeof due], next: due + ctx.event.args.amount }
  },
})`,
    )
    const pid = sandbox.pid()
    expect(pid).toBeTypeOf('number')
    expect(pid).not.toBe(process.pid)
    const calls: [HostMethod, unknown[]][] = []
    const host: HostApi = async (method, args) => {
      calls.push([method, args])
      return 10n ** 30n
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
      value: { kinds: ['bigint', 'bigint', 'bigint'], next: 10n ** 30n + 5n },
      logs: [{ level: 'info', message: 'loan 1n' }],
    })
    expect(calls).toMatchObject([['chain.read', [{ functionName: 'isDelinquent', args: [1n] }]]])
    expect(sandbox.has('paid')).toBe(true)
  })

  it('turns a throw into FunctionRunError threw, with the stack mapped to the source file', async () => {
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
  })

  it('ends a run past its timeout with FunctionRunError timeout, and runs the function again', async () => {
    await define(
      'spin',
      `export default defineFunction({ ${blocks}, limits: { timeoutMs: 200 },
  handler(ctx) { if (ctx.block.number === 1n) { while (true) {} } return 'fine' } })`,
    )
    const pid = sandbox.pid()
    const spun = await sandbox.run(
      'spin',
      testInput({ block: { number: 1n, hash: '0x00', timestamp: 1n } }),
      noHost,
    )
    expect(failure(spun)).toMatchObject({
      reason: 'timeout',
      shortMessage: expect.stringContaining('200 ms'),
    })
    expect(await sandbox.run('spin', testInput(), noHost)).toMatchObject({ ok: true, value: 'fine' })
    // The isolate was replaced, not the process.
    expect(sandbox.pid()).toBe(pid)
  })

  it('gives host rejections to user code, and keeps the host error itself as the cause of host-call', async () => {
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
      throw method === 'kv.get' ? new Error('kv is down') : brokerAway
    }
    const result = await sandbox.run('locker', testInput(), host)
    expect(result.logs[0]?.message).toBe('true:kv is down')
    const error = failure(result)
    expect(error).toMatchObject({
      reason: 'host-call',
      shortMessage: "Function 'locker' failed in ctx.devices.lock(): broker away",
    })
    expect(error.cause).toBe(brokerAway)
  })

  it('refuses what cannot cross: unknown functions, uncopyable inputs and host results', async () => {
    await expect(sandbox.run('nobody', testInput(), noHost)).rejects.toThrow("No function named 'nobody'")
    await define(
      'copies',
      `export default defineFunction({ ${blocks},
  async handler(ctx) { try { return await ctx.kv.get('x') } catch (e) { return e.message } } })`,
    )
    const odd = await sandbox.run('copies', testInput(), async () => ({ fn() {} }))
    expect(odd).toMatchObject({ ok: true, value: expect.stringContaining('ctx.kv.get() could not pass') })
    const input = { ...testInput(), secrets: { bad: (() => 1) as unknown as string } }
    await expect(sandbox.run('copies', input, noHost)).rejects.toThrow(
      "The input of a run of 'copies' cannot enter the sandbox",
    )
    expect(await sandbox.run('copies', testInput(), async () => 'still fine')).toMatchObject({
      value: 'still fine',
    })
  })

  it('loads a function whose top-level code throws as a FunctionBuildError, like the in-process sandbox', async () => {
    const file = dir.write('lateThrow', `export default defineFunction({ ${blocks}, handler() {} })`)
    const bundle = await loadFunction(file)
    // The probe in loadFunction passed; the code that reaches the child throws at load.
    await expect(
      sandbox.load({ ...bundle, code: `throw new Error('top level');\n${bundle.code}` }),
    ).rejects.toSatisfy((e) => e instanceof FunctionBuildError && e.message.includes('top level'))
    expect(sandbox.has('lateThrow')).toBe(false)
  })

  it('ends the runs in flight with SandboxCrashedError when the child is killed, and runs the next on a fresh child', async () => {
    await define(
      'waiter',
      `export default defineFunction({ ${blocks}, async handler(ctx) { return await ctx.kv.get('k') } })`,
    )
    const pid = sandbox.pid() as number
    const stuck = stuckHost()
    const inFlight = sandbox.run('waiter', testInput(), stuck.host)
    const bystander = sandbox.run(
      'paid',
      testInput({
        event: {
          name: 'InstallmentPaid',
          args: { loanId: 1n, amount: 1n },
          address: '0x01',
          logIndex: 0,
          transactionHash: '0x02',
        },
      }),
      stuckHost().host,
    )
    await stuck.reached
    process.kill(pid, 'SIGKILL')

    const error = failure(await inFlight)
    expect(error).toBeInstanceOf(SandboxCrashedError)
    expect(error.retry).toBe('retryable')
    expect(error.shortMessage).toBe(
      "The sandbox process died while running function 'waiter': it was killed by SIGKILL",
    )
    expect(failure(await bystander)).toBeInstanceOf(SandboxCrashedError)
    await gone(pid)

    // Loaded again on the fresh child without a new load(): every function is back, and works.
    expect(await sandbox.run('waiter', testInput(), async () => 'after the crash')).toMatchObject({
      ok: true,
      value: 'after the crash',
    })
    const fresh = sandbox.pid()
    expect(fresh).toBeTypeOf('number')
    expect(fresh).not.toBe(pid)
    expect(
      await sandbox.run(
        'paid',
        testInput({
          event: {
            name: 'InstallmentPaid',
            args: { loanId: 1n, amount: 1n },
            address: '0x01',
            logIndex: 0,
            transactionHash: '0x02',
          },
        }),
        async () => 1n,
      ),
    ).toMatchObject({ ok: true, value: { next: 2n } })
  })

  it('pauses longer before each restart while the child keeps dying without finishing a run', async () => {
    const own = createProcessSandbox()
    try {
      await define(
        'waiter',
        `export default defineFunction({ ${blocks}, async handler(ctx) { return await ctx.kv.get('k') } })`,
        own,
      )
      const restarts: number[] = []
      for (let i = 0; i < 3; i++) {
        const stuck = stuckHost()
        const run = own.run('waiter', testInput(), stuck.host)
        await stuck.reached
        const killedAt = performance.now()
        process.kill(own.pid() as number, 'SIGKILL')
        expect(failure(await run)).toBeInstanceOf(SandboxCrashedError)
        // The eager restart: pid() is set as soon as the next child is spawned.
        while (own.pid() === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
        restarts.push(performance.now() - killedAt)
      }
      // At once after the first crash, then 100 ms, then 200 ms.
      // Both include spawning; only the later one also waits 200 ms.
      expect(restarts[0]).toBeLessThan(restarts[2] as number)
      expect(restarts[1]).toBeGreaterThanOrEqual(100)
      expect(restarts[2]).toBeGreaterThanOrEqual(200)
      expect(await own.run('waiter', testInput(), async () => 'ok')).toMatchObject({ ok: true, value: 'ok' })
    } finally {
      own.dispose()
    }
  })

  it('leaves no child process after dispose, and ends the runs in flight', async () => {
    const own = createProcessSandbox()
    await define(
      'waiter',
      `export default defineFunction({ ${blocks}, async handler(ctx) { return await ctx.kv.get('k') } })`,
      own,
    )
    const pid = own.pid() as number
    expect(isAlive(pid)).toBe(true)
    const stuck = stuckHost()
    const inFlight = own.run('waiter', testInput(), stuck.host)
    await stuck.reached
    own.dispose()
    expect(own.pid()).toBeUndefined()
    const error = failure(await inFlight)
    expect(error).toBeInstanceOf(SandboxCrashedError)
    expect(error.shortMessage).toContain('disposed')
    await gone(pid)
    await expect(own.run('waiter', testInput(), noHost)).rejects.toBeInstanceOf(PbjError)
  })

  it('ends the child when the engine process dies without disposing', async () => {
    const file = dir.write('tick', `export default defineFunction({ ${blocks}, handler() { return 1 } })`)
    const script = `
      const { createProcessSandbox } = await import(${JSON.stringify(new URL('./createProcessSandbox.ts', import.meta.url).href)})
      const { loadFunction } = await import(${JSON.stringify(new URL('./loadFunction.ts', import.meta.url).href)})
      const sandbox = createProcessSandbox()
      await sandbox.load(await loadFunction(${JSON.stringify(file)}))
      console.log(sandbox.pid())
      setInterval(() => {}, 1000)`
    const engine = spawn(
      process.execPath,
      ['--no-node-snapshot', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const childPid = await new Promise<number>((resolve, reject) => {
      engine.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())))
      engine.once('exit', (code) => reject(new Error(`the engine process exited first (${code})`)))
    })
    expect(isAlive(childPid)).toBe(true)
    engine.kill('SIGKILL')
    // Orphaned, it sees its IPC channel close and exits; init reaps it.
    await gone(childPid, { orphan: true })
  })

  it('validates what the child sends', () => {
    const call = { type: 'hostCall', runId: 1, callId: 2, method: 'kv.get', args: ['k'] }
    expect(fromChildSchema.safeParse(call).success).toBe(true)
    expect(fromChildSchema.safeParse({ ...call, method: 'process.exit' }).success).toBe(false)
    expect(fromChildSchema.safeParse({ ...call, runId: -1 }).success).toBe(false)
    const result = {
      type: 'result',
      id: 1,
      result: { ok: false, logs: [], durationMs: 1, error: { name: 'Evil', shortMessage: 'x' } },
    }
    expect(fromChildSchema.safeParse(result).success).toBe(false)
  })
})
