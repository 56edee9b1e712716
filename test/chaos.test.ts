import { spawn } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { killStartWrapper } from '../bench/chaos/killStart.js'
import { watchTree } from '../bench/chaos/lib/processTree.js'
import { runScenario, type Scenario, type ScenarioResult } from '../bench/chaos/lib/scenario.js'
import { contractWithoutCode, secondEngineScenario } from '../bench/chaos/refusals.js'
import { damagedDatabase } from '../bench/chaos/storeRefusals.js'

// The quick part of `npm run chaos` (bench/chaos): real `pbj start` processes through bin/pbj.js, a real
// Anvil, broker and simulated cars. Each scenario's own expectations are the shared contract of issue 12
// (exit codes 3 and 4 within 1 s of the message, no process of the tree left, nothing lost or duplicated).
// Two lanes run side by side (the machine has 2 cores), each scenario of a lane after the other.
const run = async (scenario: Scenario, timeoutMs: number) => {
  // Inside vitest's 60 s: a hung scenario is killed with its process trees before the test times out.
  const result = await runScenario(scenario, (line) => console.log(line), { timeoutMs })
  console.log(JSON.stringify(result))
  return result
}

const clean = (r: ScenarioResult) => {
  expect(r.failures).toEqual([])
  expect(r).toMatchObject({ ok: true, hung: false, orphans: 0, lost: 0, duplicated: 0, wrongLocks: 0 })
}

describe.concurrent('chaos (the quick subset of npm run chaos)', () => {
  test('a contract without code exits 3; kill -9 of the pbj start wrapper leaves no process and loses nothing', async () => {
    const noCode = await run(contractWithoutCode, 15_000)
    const killed = await run(killStartWrapper, 40_000)
    expect(noCode.exitCodes['contract without code']).toBe(3)
    clean(noCode)
    clean(killed)
  })

  test('a damaged database exits 4; a second engine on the same store exits 4 and the first goes on', async () => {
    const damaged = await run(damagedDatabase, 15_000)
    const second = await run(secondEngineScenario({ quick: true }), 35_000)
    expect(damaged.exitCodes['damaged database']).toBe(4)
    expect(second.exitCodes['second engine']).toBe(4)
    clean(damaged)
    clean(second)
  })
})

describe('the chaos harness counts orphans', () => {
  test('a grandchild left running by kill -9 of its parent is found, then killed', async () => {
    // sh → sleep: SIGKILL of sh re-parents sleep; the watcher knew it from the root and still finds it.
    const parent = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' })
    const tree = watchTree(parent.pid as number, 20)
    let seen = 0
    for (let i = 0; i < 100 && seen < 2; i++) {
      await new Promise((r) => setTimeout(r, 20))
      tree.scan()
      seen = tree.seen().length
    }
    expect(seen).toBe(2)
    parent.kill('SIGKILL')
    const left = await tree.survivors(300)
    expect(left.map((p) => p.pid)).not.toContain(parent.pid)
    expect(left).toHaveLength(1)
    tree.killAll()
    expect(await tree.survivors(2000)).toEqual([])
  })
})
