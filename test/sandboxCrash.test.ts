import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

const dir = makeFunctionsDir()
afterAll(() => dir.remove())

const lockLine =
  "    const result = await ctx.devices.lock(loan.car, { reason: 'missed-payment', lockAt, policy })\n"

/**
 * The demo's functions; the lock function's first attempt, once it has sent the lock, says so through
 * ctx.kv and then waits forever (up to its timeout): the moment to kill its sandbox process.
 */
async function demoFunctions() {
  return Promise.all(
    ['lockOnMissedPayment', 'unlockOnPayment'].map((name) => {
      let source = readFileSync(join(demoProjectDir, 'functions', `${name}.ts`), 'utf8')
      if (name === 'lockOnMissedPayment') {
        if (!source.includes(lockLine)) throw new Error('the demo lock function changed: update this test')
        source = source.replace(
          lockLine,
          `${lockLine}    if (ctx.run.attempt === 1) { await ctx.kv.set('lockSent', ctx.run.id); await new Promise(() => {}) }\n`,
        )
      }
      return loadFunction(
        dir.write(
          `${name}.ts`,
          source
            .replace("import { defineFunction } from 'pbj'\n", '')
            .replace(
              "'../lib/loanDeadline.js'",
              JSON.stringify(join(demoProjectDir, 'lib', 'loanDeadline.ts')),
            ),
        ),
      )
    }),
  )
}

/** The sandbox processes this (test) process started: children running sandboxProcess.ts. Linux /proc. */
function sandboxChildren(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const ppid = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]
        return (
          Number(ppid) === process.pid &&
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sandboxProcess.ts')
        )
      } catch {
        return false // gone meanwhile
      }
    })
    .map(Number)
}

describe('a sandbox process crash in the middle of a run', () => {
  let s: Scenario
  afterAll(async () => s?.stop())

  it('retries the run on a fresh sandbox process, and the car locks exactly once', async () => {
    // a plain device: the lock applies as it comes (the warnings before it are tested elsewhere)
    s = await startScenario({
      functions: await demoFunctions(),
      sandbox: { isolation: 'process' },
      plainDevice: true,
    })
    const [first] = sandboxChildren()
    expect(first).toBeTypeOf('number')

    await s.reload(s.car.installment)
    await s.mine()
    const loan = await s.loan()
    const locked = s.waitForCar(true)
    const mined = s.mine(loan.nextDueAt + loan.grace)

    // The lock is sent and the run is still in flight: kill -9 its sandbox process.
    const until = Date.now() + 5_000
    while ((await s.engine.store.kvGet('lockOnMissedPayment', 'lockSent')) === null) {
      if (Date.now() > until) throw new Error('the lock function never reached its lock')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    process.kill(first as number, 'SIGKILL')
    await mined
    await locked
    // The retry comes after a backoff: wait for its run to be recorded.
    const deadline = Date.now() + 10_000
    while (!s.runs.some((r) => r.run.functionName === 'lockOnMissedPayment' && r.run.status === 'ok')) {
      if (Date.now() > deadline)
        throw new Error(`no successful retry; runs: ${JSON.stringify(s.runs.map((r) => r.run))}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await s.engine.idle()

    const lockRuns = s.runs.filter((r) => r.run.functionName === 'lockOnMissedPayment').map((r) => r.run)
    expect(lockRuns).toMatchObject([
      { attempt: 1, status: 'failed', error: { name: 'SandboxCrashedError' } },
      { attempt: 2, status: 'ok' },
    ])
    expect(lockRuns[0]?.error?.message).toContain("died while running function 'lockOnMissedPayment'")

    // Exactly once: one version, one command, applied once by the car.
    const device = await s.engine.store.getDevice(s.car.deviceId.toLowerCase())
    expect(device).toMatchObject({ desiredVersion: 1, reportedVersion: 1, reported: { locked: true } })
    const locks = s.desired.filter((d) => d.state.locked)
    expect(new Set(locks.map((d) => d.commandId)).size).toBe(1)
    expect(locks.every((d) => d.version === 1)).toBe(true)
    expect(s.applied.filter((a) => a.locked)).toHaveLength(1)
    expect(s.agent.state().locked).toBe(true)

    // The retry ran on a new sandbox process; the killed one is gone.
    const now = sandboxChildren()
    expect(now).toHaveLength(1)
    expect(now[0]).not.toBe(first)
  })
})
