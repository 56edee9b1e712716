// `npm run attacks`, the groups fast enough for every test run: each attack from an outside account or a
// rogue function against a real Anvil (and the engine, the embedded broker and a real car) must be refused,
// for the reason it should meet. The device group has a test file of its own (test/deviceAttacks.test.ts).
import { describe, expect, it } from 'vitest'
import { type AttackResult, expectRevert } from '../bench/attacks/attack.js'
import { runBrokerAttacks } from '../bench/attacks/brokerAttacks.js'
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

  it('broker: outside MQTT clients on the embedded broker and on Mosquitto with the docs config are refused', async () => {
    const results = await runBrokerAttacks(() => {})
    expect(results.length).toBeGreaterThanOrEqual(15)
    refusedAll(results)
  })
})
