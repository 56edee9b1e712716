// `pbj start` as a supervisor runs it: the real binary (wrapper → engine), a real Anvil, a real broker, a
// real SQLite file. A start-up failure exits with its code from the table (cli/exitCodes.ts), the error and
// its hint on stderr, within 1 s of the failure, leaving no process behind. (SIGTERM: drain.test.ts.)
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getFreePort } from '#pbj/internal/freePort.js'
import { createStartProjects, tickFunction as tick } from '#test/helpers/startProjects.js'

const env = createStartProjects('start-failures')
const { project, start } = env
beforeAll(env.setup)
afterAll(env.teardown)

/**
 * Runs `pbj start` on a project that cannot start and checks the contract: the code, the message and its
 * fix on stderr, the exit within 1 s of the error being printed, and no process of its tree left.
 */
async function refusedStart(dir: string, expected: { code: number; texts: string[] }) {
  const spawnedAt = Date.now()
  const pbj = start(dir)
  const { code, signal, at } = await pbj.exited
  pbj.tree.look()
  const stderr = pbj.stderr()
  expect({ code, signal, stderr }).toMatchObject({ code: expected.code, signal: null })
  for (const text of expected.texts) expect(stderr).toContain(text)
  // The failure point: the error line, printed once everything is closed.
  const printed = pbj.firstSeen('pbj start: ') as number
  expect(printed).toBeGreaterThanOrEqual(spawnedAt)
  const latency = at - printed
  expect(latency, stderr).toBeLessThan(1_000)
  // Whatever it started (the inner node, esbuild, a sandbox process) is gone with it.
  await new Promise((r) => setTimeout(r, 300))
  expect(pbj.tree.alive().map((p) => p.args)).toEqual([])
  pbj.tree.stop()
  return { latency, total: at - spawnedAt }
}

// One at a time: the exit latency is measured, and start-ups running beside a teardown would stretch it.
describe('pbj start: a start-up failure exits with its code, its message and hint, within 1 s, leaving nothing', () => {
  it('the broker unreachable after the chain connected: exit 5', async () => {
    const port = await getFreePort()
    const dir = project('broker-down', { brokerUrl: `mqtt://127.0.0.1:${port}` }, { 'tick.ts': tick })
    const { latency } = await refusedStart(dir, {
      code: 5,
      texts: [`cannot connect to MQTT broker at mqtt://127.0.0.1:${port}`, 'Fix: Start the broker'],
    })
    console.log(`broker down: exit ${latency} ms after the error`)
  }, 90_000)

  it('the database path is a text file: exit 4 (store refused)', async () => {
    const dir = project('not-a-database', {}, { 'tick.ts': tick })
    writeFileSync(join(dir, '.pbj', 'pbj.db'), 'not a database\n'.repeat(500))
    const { latency } = await refusedStart(dir, { code: 4, texts: ['file is not a database'] })
    console.log(`not a database: exit ${latency} ms after the error`)
  }, 90_000)

  it('a trigger naming an unknown contract, in process isolation: exit 3 (config refused)', async () => {
    const unknown = `import { defineFunction } from 'pbj'
import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: 'NoSuchLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
  async handler() {},
})
`
    const dir = project(
      'unknown-contract',
      { limits: { timeoutMs: 5_000, isolation: 'process' } },
      { 'tick.ts': tick, 'unknown.ts': unknown },
    )
    const { latency } = await refusedStart(dir, {
      code: 3,
      texts: ["'NoSuchLoan' is not a known contract", 'Fix: Add NoSuchLoan'],
    })
    console.log(`unknown contract: exit ${latency} ms after the error`)
  }, 90_000)
})
