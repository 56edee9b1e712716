import { describe, expect, test } from 'vitest'
import { killStartWrapper } from '../bench/chaos/killStart.js'
import { runScenario, type Scenario } from '../bench/chaos/lib/scenario.js'
import { contractWithoutCode, secondEngine } from '../bench/chaos/refusals.js'
import { damagedDatabase } from '../bench/chaos/storeRefusals.js'

// The quick part of `npm run chaos` (bench/chaos): real `pbj start` processes through bin/pbj.js, a real
// Anvil, broker and simulated cars. Each scenario's own expectations are the shared contract of issue 12
// (exit codes 3 and 4 within 1 s of the message, no process of the tree left, nothing lost or duplicated).
const run = async (scenario: Scenario) => {
  // Inside vitest's 60 s: a hung scenario is killed with its process trees before the test times out.
  const result = await runScenario(scenario, (line) => console.log(line), { timeoutMs: 50_000 })
  console.log(JSON.stringify(result))
  return result
}

describe.concurrent('chaos (the quick subset of npm run chaos)', () => {
  test('a second engine on the same store exits 4 within 1 s; the first goes on', async () => {
    const r = await run(secondEngine)
    expect(r.exitCodes['second engine']).toBe(4)
    expect(r.failures).toEqual([])
    expect(r).toMatchObject({ ok: true, hung: false, orphans: 0, lost: 0, duplicated: 0, wrongLocks: 0 })
  })

  test('a contract without code in the config exits 3 within 1 s', async () => {
    const r = await run(contractWithoutCode)
    expect(r.exitCodes['contract without code']).toBe(3)
    expect(r.failures).toEqual([])
  })

  test('a damaged database is refused with exit 4 within 1 s', async () => {
    const r = await run(damagedDatabase)
    expect(r.exitCodes['damaged database']).toBe(4)
    expect(r.failures).toEqual([])
  })

  test('kill -9 of the pbj start wrapper leaves no process; a restart loses and duplicates nothing', async () => {
    const r = await run(killStartWrapper)
    expect(r.failures).toEqual([])
    expect(r).toMatchObject({ ok: true, orphans: 0, lost: 0, duplicated: 0, wrongLocks: 0 })
  })
})
