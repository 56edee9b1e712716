import { describe, expect, it } from 'vitest'
import { runFaults } from './faults/runFaults.js'

describe('fault injection: kill -9 of the engine at random moments', () => {
  it('locks every delinquent car exactly once and never a paid one, through 20 kills', async () => {
    const report = await runFaults({
      cars: 12,
      kills: Number(process.env.PBJ_FAULTS_KILLS ?? 20),
      reorgs: 0,
      outages: 0,
      log: (l) => console.log(l),
    })
    console.log(JSON.stringify(report))
    expect(report.kills).toBe(20)
    expect(report.delinquent).toBe(6)
    expect(report).toMatchObject({ lost: 0, duplicated: 0, wrongLocks: 0 })
  }, 180_000)
})
