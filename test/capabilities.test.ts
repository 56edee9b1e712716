// Functions get capabilities, not the operator's keys: each function below tries, on a real Anvil with the
// embedded broker and a real SQLite store, something its `capabilities` do not grant. Every attempt must
// be refused with a CapabilityError (or a size/text error) before anything is signed, stored or published.
import { executionBalanceAbi } from '@pbj/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FunctionBuildError } from '#pbj/internal/errors.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { type Scenario, startScenario } from './helpers/startScenario.js'

const fns = makeFunctionsDir()
afterAll(() => fns.remove())

/** A function run by every installment paid: it reads the loan's car and wallet, then runs `body`. */
const attacker = (name: string, capabilities: string, body: string) =>
  loadFunction(
    fns.write(
      name,
      `import { carLoanAbi, carWalletAbi, executionBalanceAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: 'CarLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
  ${capabilities}
  async handler(ctx) {
    const loan = await ctx.chain.read({
      contract: 'CarLoan', abi: carLoanAbi, functionName: 'getLoan', args: [ctx.event.args.loanId],
    })
    const policy = { warningPeriod: 60n, finalWarning: 60n, emergencyStarts: 1n, emergencyDuration: 60n }
    void carWalletAbi, executionBalanceAbi, policy
    ${body}
  },
})`,
    ),
  )

const attacks = {
  unlockWithout: ['', 'await ctx.devices.unlock(loan.car)'],
  lockWithWarnOnly: [
    "capabilities: { devices: { actions: ['warn'] } },",
    'await ctx.devices.lock(loan.car, { lockAt: 1n, policy })',
  ],
  warnWithout: ['', 'await ctx.devices.warn(loan.car, { lockAt: ctx.block.timestamp + 60n, policy })'],
  warnWhereNotDelinquent: [
    "capabilities: { devices: { actions: ['warn'], where: { contract: 'CarLoan', functionName: 'isCarDelinquent' } } },",
    'await ctx.devices.warn(loan.car, { lockAt: ctx.block.timestamp + 60n, policy })',
  ],
  warnLongMessage: [
    "capabilities: { devices: { actions: ['warn'] } },",
    "await ctx.devices.warn(loan.car, { message: 'PAY NOW '.repeat(50), lockAt: ctx.block.timestamp + 60n, policy })",
  ],
  raisePrices: [
    // A '*' grant for another function name does not cover setPrices.
    "capabilities: { write: [{ contract: '*', functionName: 'payDue()' }] },",
    "await ctx.chain.write({ contract: 'ExecutionBalance', abi: executionBalanceAbi, functionName: 'setPrices', args: [10n ** 12n, 10n ** 12n, 10n ** 12n, 0n] })",
  ],
  sendEth: [
    "capabilities: { write: [{ contract: '*', functionName: 'payDue()' }] },",
    "await ctx.chain.write({ contract: loan.wallet, abi: carWalletAbi, functionName: 'payDue', value: 10n ** 18n })",
  ],
  overMaxValue: [
    "capabilities: { write: [{ contract: '*', functionName: 'payDue()', maxValue: 5n }] },",
    "await ctx.chain.write({ contract: loan.wallet, abi: carWalletAbi, functionName: 'payDue', value: 6n })",
  ],
  bigKv: ['', "await ctx.kv.set('big', 'x'.repeat(100_000))"],
  readSecrets: [
    "capabilities: { secrets: ['API_KEY'] },",
    'ctx.log.info(JSON.stringify(Object.keys(ctx.secrets)), ctx.secrets.OPERATOR_TOKEN === undefined, ctx.secrets.API_KEY)',
  ],
  noSecrets: ['', 'ctx.log.info(JSON.stringify(Object.keys(ctx.secrets)))'],
} as const

describe('capabilities on a real Anvil and the embedded broker', () => {
  let s: Scenario
  let before: { nonce: number; block: bigint }
  const operator = () => s.stack.deployment.accounts.operator.address
  const runOf = (name: string) => s.runs.find((r) => r.run.functionName === name)?.run

  beforeAll(async () => {
    const functions = await Promise.all(
      Object.entries(attacks).map(([name, [caps, body]]) => attacker(name, caps, body)),
    )
    // Only the attackers: the demo's own functions would command the car on the same payment.
    s = await startScenario({
      functions,
      secrets: { API_KEY: 'k-123', OPERATOR_TOKEN: 'must-not-leak' },
    })
    before = {
      nonce: await s.pub.getTransactionCount({ address: operator() }),
      block: await s.pub.getBlockNumber({ cacheTime: 0 }),
    }
    await s.reload(s.car.installment)
    await s.mine()
    await s.mine()
  })
  afterAll(async () => s?.stop())

  it('refuses device actions a function did not declare: nothing stored, nothing published', async () => {
    for (const [name, action] of [
      ['unlockWithout', 'unlock'],
      ['lockWithWarnOnly', 'lock'],
      ['warnWithout', 'warn'],
    ] as const) {
      const run = runOf(name)
      expect(run?.status, name).toBe('failed')
      expect(run?.error?.name, name).toBe('CapabilityError')
      expect(run?.error?.message).toBe(
        `Function '${name}' may not call ctx.devices.${action}(): its capabilities do not grant '${action}'`,
      )
    }
    const deviceId = s.car.deviceId.toLowerCase()
    expect((await s.engine.store.getDevice(deviceId))?.desiredVersion ?? 0).toBe(0)
    expect(s.desired).toEqual([])
    expect(s.applied).toEqual([])
    expect(s.agent.state().locked).toBe(false)
  })

  it('refuses a command to a device its devices.where view does not name (the loan is current)', async () => {
    const run = runOf('warnWhereNotDelinquent')
    expect(run?.error?.name).toBe('CapabilityError')
    expect(run?.error?.message).toMatch(
      new RegExp(
        `may not call ctx\\.devices\\.warn\\(${s.car.deviceId.toLowerCase()}\\): CarLoan\\.isCarDelinquent\\(${s.car.deviceId.toLowerCase()}\\) returned false at block \\d+$`,
      ),
    )
    expect(s.desired).toEqual([])
  })

  it('refuses a device message over 160 characters', async () => {
    const run = runOf('warnLongMessage')
    expect(run?.status).toBe('failed')
    expect(run?.error?.message).toContain('message is 400 characters; at most 160 are shown')
    expect(s.desired).toEqual([])
  })

  it('refuses writes as the operator it was not granted, before signing: ExecutionBalance.setPrices, ETH sent, value over maxValue', async () => {
    expect(runOf('raisePrices')?.error).toMatchObject({ name: 'CapabilityError' })
    expect(runOf('raisePrices')?.error?.message).toMatch(
      /^Function 'raisePrices' may not ctx\.chain\.write ExecutionBalance\.setPrices \(0x[0-9a-fA-F]{40}\): its capabilities grant no such write$/,
    )
    expect(runOf('sendEth')?.error?.message).toMatch(
      /^Function 'sendEth' may not send 1000000000000000000 wei with ctx\.chain\.write 0x[0-9a-fA-F]{40}\.payDue: its capabilities allow at most 0 wei$/,
    )
    expect(runOf('overMaxValue')?.error?.message).toContain('may not send 6 wei')
    expect(runOf('overMaxValue')?.error?.message).toContain('at most 5 wei')
    // Nothing signed: no transaction recorded by the relayer, the operator's nonce unchanged, prices too.
    expect(await s.engine.store.relayedTxs.list({ sender: operator() })).toEqual([])
    expect(await s.pub.getTransactionCount({ address: operator(), blockTag: 'pending' })).toBe(before.nonce)
    const prices = await s.pub.readContract({
      address: s.stack.deployment.contracts.ExecutionBalance,
      abi: executionBalanceAbi,
      functionName: 'prices',
    })
    expect(prices.perRunMicros).not.toBe(10n ** 12n)
  })

  it('refuses a 100 KB kv value with its size and the limit, and stores nothing', async () => {
    const run = runOf('bigKv')
    expect(run?.error?.name).toBe('KvLimitError')
    expect(run?.error?.message).toBe(
      "ctx.kv.set('big'): the value is 97.7 KiB as JSON; a value may be at most 64 KiB",
    )
    expect(await s.engine.store.kvGet('bigKv', 'big')).toBeNull()
  })

  it('gives a function only the secrets it declared', async () => {
    expect(runOf('readSecrets')?.status).toBe('ok')
    expect(runOf('readSecrets')?.logs.map((l) => l.message)).toEqual(['["API_KEY"] true k-123'])
    expect(runOf('noSecrets')?.logs.map((l) => l.message)).toEqual(['[]'])
  })

  it('refuses at load a function declaring a secret or contract the config does not have', async () => {
    const missing = await attacker('wantsMissing', "capabilities: { secrets: ['NOPE'] },", '')
    await expect(s.engine.setFunctions([missing])).rejects.toThrow(
      "capabilities.secrets names 'NOPE', which is not set in the config's secrets",
    )
    const unknown = await attacker(
      'writesUnknown',
      "capabilities: { write: [{ contract: 'Nowhere', functionName: 'x' }] },",
      '',
    )
    await expect(s.engine.setFunctions([unknown])).rejects.toBeInstanceOf(FunctionBuildError)
    // The running set is unchanged.
    expect(s.engine.functionNames()).toContain('readSecrets')
  })
})

describe('capabilities.devices.where lets a command through once its view names the device', () => {
  let s: Scenario
  afterAll(async () => s?.stop())

  it('stores the warning only at the block where CarLoan.isCarDelinquent(car) has turned true', async () => {
    const watcher = await loadFunction(
      fns.write(
        'warnWhereDelinquent',
        `import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  capabilities: { devices: { actions: ['warn'], where: { contract: 'CarLoan', functionName: 'isCarDelinquent' } } },
  async handler(ctx) {
    const read = { contract: 'CarLoan', abi: carLoanAbi, args: [1n] } as const
    const [loan, policy] = await Promise.all([
      ctx.chain.read({ ...read, functionName: 'getLoan' }),
      ctx.chain.read({ ...read, functionName: 'policyOf' }),
    ])
    // Tries every block: refused while the loan is current, stored once it is delinquent.
    if (await ctx.kv.get('sent')) return
    await ctx.devices.warn(loan.car, { since: loan.nextDueAt, lockAt: loan.nextDueAt + loan.grace, policy })
    await ctx.kv.set('sent', true)
  },
})`,
      ),
    )
    s = await startScenario({ functions: [watcher] })
    expect(s.car.loanId).toBe(1n)
    await s.mine()
    const refused = s.runs.filter((r) => r.run.functionName === 'warnWhereDelinquent')
    expect(refused.at(-1)?.run.error?.name).toBe('CapabilityError')
    expect(s.desired).toEqual([])

    const loan = await s.loan()
    const due = await s.mine(loan.nextDueAt + loan.grace)
    // the function's command goes through only at that block (refused before it); the reconciler's
    // scheduled re-checks may have stored the same warning already, which the function's then repeats
    const runs = s.runs.filter((r) => r.run.functionName === 'warnWhereDelinquent')
    expect(runs.find((r) => r.run.status === 'ok')?.blockNumber).toBe(due.number)
    expect(runs.filter((r) => r.blockNumber < due.number).every((r) => r.run.status !== 'ok')).toBe(true)
    expect(s.desired.filter((d) => !d.commandId.startsWith('reconcile:')).length).toBeLessThanOrEqual(1)
  })
})
