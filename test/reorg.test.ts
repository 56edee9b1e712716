import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

const dir = makeFunctionsDir()
afterAll(() => dir.remove())

/** The demo's functions (warnings, lock, unlock), with a confirmation mode written into their triggers. */
async function demoFunctions(confirmation?: string) {
  const names = readdirSync(join(demoProjectDir, 'functions')).map((file) => file.replace(/\.ts$/, ''))
  return Promise.all(
    names.map((name) => {
      let source = readFileSync(join(demoProjectDir, 'functions', `${name}.ts`), 'utf8')
      if (confirmation) {
        source = source
          .replace("contract: 'CarLoan',", `contract: 'CarLoan', confirmation: ${confirmation},`)
          .replace(/trigger: (loanDeadline\('\w+'\)),/, `trigger: { ...$1, confirmation: ${confirmation} },`)
      }
      // The copy lives elsewhere: point its shared import back at the example project.
      source = source.replace(
        "'../lib/loanDeadline.js'",
        JSON.stringify(join(demoProjectDir, 'lib', 'loanDeadline.ts')),
      )
      return loadFunction(
        dir.write(`${name}.ts`, source.replace("import { defineFunction } from 'pbj'\n", '')),
      )
    }),
  )
}

/** Pays installment 1, then mines the first block at due + grace: the car locks. */
async function lockTheCar(s: Scenario) {
  await s.reload(s.car.installment)
  await s.mine()
  const loan = await s.loan()
  const lockAt = loan.nextDueAt + loan.grace
  const locked = s.waitForCar(true)
  const block = await s.mine(lockAt)
  return { lockAt, block, locked }
}

describe('reorgs, confirmation instant (onReorg compensates)', () => {
  let s: Scenario
  afterEach(async () => s?.stop())

  it('unlocks a car whose locking block was reorged out, and locks it again when the new chain reaches due + grace', async () => {
    s = await startScenario({})
    const { lockAt, locked } = await lockTheCar(s)
    await locked
    expect(s.agent.state().locked).toBe(true)

    // the replacement block has an earlier timestamp (now), so the loan is current on the new chain
    const unlocked = s.waitForCar(false)
    const reorg = await s.reorg(1)
    await unlocked
    expect(reorg).toMatchObject({ compensations: 1 })
    expect(s.agent.state().locked).toBe(false)
    const compensation = s.runs.find((r) => r.jobId.endsWith(':reorg'))
    expect(compensation?.run).toMatchObject({ functionName: 'lockOnMissedPayment', status: 'ok' })

    // the deadline timer was restored by the rollback: the new chain's first block at due + grace locks again
    const relocked = s.waitForCar(true)
    const again = await s.mine(lockAt)
    await relocked
    expect(s.desired.filter((d) => d.state.locked).at(-1)?.blockNumber).toBe(again.number)
  })

  it('locks again a car whose payment was reorged out', async () => {
    s = await startScenario({})
    const { locked } = await lockTheCar(s)
    await locked
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment)
    await s.mine()
    await unlocked

    const relocked = s.waitForCar(true)
    const reorg = await s.reorg(1)
    await relocked
    expect(reorg.compensations).toBe(1)
    expect(s.agent.state().locked).toBe(true)
  })

  it('rolls back reorgs of depth 1 to 10 without duplicating a lock', async () => {
    s = await startScenario({})
    const { locked } = await lockTheCar(s)
    await locked
    for (let depth = 1; depth <= 10; depth++) {
      for (let i = 0; i < depth; i++) await s.mine()
      const event = await s.reorg(depth)
      expect(event.ancestor).toBeGreaterThan(0n)
      expect(s.agent.state().locked).toBe(true)
    }
    expect(s.desired.filter((d) => d.state.locked)).toHaveLength(1)
    expect(s.runs.filter((r) => r.run.status !== 'ok')).toEqual([])
  })
})

describe('reorgs, confirmation { confirmations: 3 }', () => {
  let s: Scenario
  afterEach(async () => s?.stop())

  it('waits 3 blocks before locking, and never locks when the deadline block is reorged out first', async () => {
    s = await startScenario({ functions: await demoFunctions('{ confirmations: 3 }') })
    const { lockAt, block } = await lockTheCar(s)
    await s.mine()
    await s.mine()
    expect(s.agent.state().locked).toBe(false)
    await s.reorg(3) // removes the deadline block and the two after it, before the third confirmation
    await s.mine()
    await s.mine()
    await s.mine()
    expect(s.agent.state().locked).toBe(false)
    expect(s.runs.filter((r) => r.run.functionName === 'lockOnMissedPayment')).toEqual([])

    // on the new chain the deadline comes again: the lock runs once, three blocks after it
    const due = await s.mine(lockAt)
    await s.mine()
    await s.mine()
    expect(s.agent.state().locked).toBe(false)
    const locked = s.waitForCar(true)
    const third = await s.mine()
    await locked
    expect(third.number).toBe(due.number + 3n)
    expect(s.desired.filter((d) => d.state.locked)).toMatchObject([{ blockNumber: due.number }])
    expect(block.number).toBeLessThanOrEqual(due.number)
  })

  it('never unlocks for a payment that is reorged out before its confirmations', async () => {
    s = await startScenario({ functions: await demoFunctions('{ confirmations: 3 }') })
    const { block } = await lockTheCar(s)
    for (let i = 0; i < 3; i++) await s.mine()
    await s.waitForCar(true)
    expect(s.desired.filter((d) => d.state.locked)).toMatchObject([{ blockNumber: block.number }])

    await s.reload(s.car.installment)
    const payment = await s.mine()
    await s.mine()
    await s.reorg(2) // the payment's block and the one after it are gone before the third confirmation
    for (let i = 0; i < 4; i++) await s.mine()
    expect(s.agent.state().locked).toBe(true)
    const unlockRuns = s.runs.filter((r) => r.run.functionName === 'unlockOnPayment')
    expect(unlockRuns.filter((r) => r.blockNumber >= payment.number)).toEqual([])
    // no unlock (the warnings that came before the lock are not unlocks)
    expect(s.desired.filter((d) => !d.state.locked && d.state.immobilizer === undefined)).toEqual([])
  })
})
