// `npm run attacks`, the groups fast enough for every test run: each attack from an outside account or a
// rogue function against a real Anvil (and the engine, the embedded broker and a real car) must be refused,
// for the reason it should meet. The device and broker groups have test files of their own.
import { describe, expect, it } from 'vitest'
import { type AttackResult, expectRevert } from '../bench/attacks/attack.js'
import { runContractAttacks } from '../bench/attacks/contractAttacks.js'
import { runFunctionAttacks } from '../bench/attacks/functionAttacks.js'

const refusedAll = (results: AttackResult[]) => {
  const notRefused = results.filter((r) => r.gotThrough || r.unexpected || r.wrongLock || r.missedUnlock)
  expect(notRefused).toEqual([])
}

describe('npm run attacks', () => {
  it('reports an attack that succeeds as got through (the harness can fail)', async () => {
    expect(await expectRevert(async () => 'ok', 'NotOwner')).toMatchObject({ gotThrough: true })
    expect(
      await expectRevert(async () => {
        throw new Error('execution reverted: Error: Other()')
      }, 'NotOwner'),
    ).toMatchObject({ gotThrough: false, unexpected: true })
  })

  it('contracts: every restricted function called from an outsider reverts with its reason', async () => {
    const results = await runContractAttacks(() => {})
    expect(results.length).toBeGreaterThanOrEqual(25)
    refusedAll(results)
  })

  it('functions: a rogue function and one without capabilities are refused, and the paid car still unlocks', async () => {
    const results = await runFunctionAttacks(() => {})
    expect(results.length).toBeGreaterThanOrEqual(13)
    refusedAll(results)
  })
})
