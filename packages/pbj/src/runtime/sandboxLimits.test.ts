import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testInput } from '../../../../test/fixtures/testFunctions.js'
import { FunctionRunError, SandboxCrashedError } from '../internal/errors.js'
import { createSandbox } from './createSandbox.js'
import { loadFunction } from './loadFunction.js'
import type { HostApi, RunResult } from './sandboxTypes.js'

const dir = makeFunctionsDir()
const sandbox = createSandbox({ timeoutMs: 300, memoryMb: 32 })
afterAll(() => {
  sandbox.dispose()
  dir.remove()
})

const host: HostApi = async () => null

// Block 1 misbehaves in the way under test; any other block returns 'fine'.
async function define(name: string, misbehave: string, limits = '') {
  const body = `export default defineFunction({ trigger: { type: 'blocks', every: 1 }, ${limits}
  async handler(ctx) {
    if (ctx.block.number === 1n) { ${misbehave} }
    return 'fine'
  },
})`
  await sandbox.load(await loadFunction(dir.write(name, body)))
}

const bad = testInput({ block: { number: 1n, hash: '0x00', timestamp: 1n } })
const good = testInput()

function failure(result: RunResult) {
  if (result.ok) throw new Error('expected a failure')
  return result.error
}

describe('sandbox limits', () => {
  it('ends a synchronous infinite loop with timeout, then runs the function again', async () => {
    await define('spin', "ctx.log.info('before the loop'); while (true) {}")
    const result = await sandbox.run('spin', bad, host)
    const error = failure(result)
    expect(error).toBeInstanceOf(FunctionRunError)
    expect(error).toMatchObject({
      reason: 'timeout',
      shortMessage: "Function 'spin' ran longer than its 300 ms timeout",
    })
    expect(error.hint).toContain('limits.timeoutMs')
    expect(result.durationMs).toBeGreaterThanOrEqual(290)
    expect(result.logs[0]?.message).toBe('before the loop')
    expect(await sandbox.run('spin', good, host)).toMatchObject({ ok: true, value: 'fine' })
  })

  it('ends a loop after an await, and a promise that never settles', async () => {
    await define('asyncSpin', 'await null; await ctx.kv.get("k"); while (true) {}')
    expect(failure(await sandbox.run('asyncSpin', bad, host))).toMatchObject({ reason: 'timeout' })
    await define('hang', 'await new Promise(() => {})')
    expect(failure(await sandbox.run('hang', bad, host))).toMatchObject({ reason: 'timeout' })
    expect(await sandbox.run('hang', good, host)).toMatchObject({ ok: true, value: 'fine' })
  })

  it('honours limits.timeoutMs and the per-run timeout', async () => {
    await define(
      'slowish',
      'const end = Date.now() + 150; while (Date.now() < end) {}',
      'limits: { timeoutMs: 50 },',
    )
    expect(failure(await sandbox.run('slowish', bad, host)).shortMessage).toContain('its 50 ms timeout')
    expect(await sandbox.run('slowish', bad, host, { timeoutMs: 2000 })).toMatchObject({ ok: true })
  })

  it('ends a memory bomb with memory, then runs the function again', async () => {
    await define(
      'bomb',
      "const keep = []; for (let i = 0; ; i++) keep.push('x'.repeat(1000) + i)",
      'limits: { timeoutMs: 10000 },',
    )
    const error = failure(await sandbox.run('bomb', bad, host))
    expect(error).toMatchObject({
      reason: 'memory',
      shortMessage: "Function 'bomb' used more than its 32 MB memory limit",
    })
    expect(error.hint).toContain('limits.memoryMb')
    expect(await sandbox.run('bomb', good, host)).toMatchObject({ ok: true, value: 'fine' })
  })

  it('keeps other functions running while one misbehaves', async () => {
    await define('neighbour', 'throw new Error("unused")')
    await define('spin2', 'while (true) {}')
    const [spun, ok] = await Promise.all([
      sandbox.run('spin2', bad, host),
      sandbox.run('neighbour', good, host),
    ])
    expect(failure(spun)).toMatchObject({ reason: 'timeout' })
    expect(ok).toMatchObject({ ok: true, value: 'fine' })
    expect(await sandbox.run('neighbour', good, host)).toMatchObject({ ok: true, value: 'fine' })
  })

  it('ends runs in flight with SandboxCrashedError when the sandbox is disposed', async () => {
    const own = createSandbox({ timeoutMs: 5000 })
    await own.load(
      await loadFunction(
        dir.write(
          'held',
          "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, async handler() { while (true) {} } })",
        ),
      ),
    )
    const running = own.run('held', good, host)
    await new Promise((resolve) => setTimeout(resolve, 50))
    own.dispose()
    expect(failure(await running)).toBeInstanceOf(SandboxCrashedError)
  })
})
