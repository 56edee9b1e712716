// The `functions` group of `npm run attacks`: a function (a bug, or a compromised bundle) tries what only the
// chain or the operator may decide, on a real Anvil with the engine, the embedded broker and a real car. A
// `rogue` function is granted every device action, `payDue` on any contract and one secret; a `sneaky` one is
// granted nothing. Each block they carry out the plan put in their kv store; every plan must be refused
// before anything is stored, signed or sent.
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { type Scenario, startScenario } from '../../test/helpers/startScenario.js'
import type { Attack, AttackOutcome, AttackResult } from './attack.js'
import { runAttacks } from './attack.js'

type Env = { s: Scenario; madeUp: string }
type Plan =
  | { op: 'device'; action: 'lock' | 'unlock' | 'warn'; device: string; options?: Record<string, unknown> }
  | {
      op: 'write'
      abi: 'executionBalance' | 'carWallet' | 'spoof'
      contract: string
      functionName: string
      args?: unknown[]
      value?: string
    }
  | { op: 'secrets' }
  | { op: 'kv'; bytes: number }

const body = `import { carWalletAbi, executionBalanceAbi } from '@pbj/contracts'
// 'spoof': a payDue with other parameters, i.e. another selector under the granted name.
const spoof = [{ type: 'function', name: 'payDue', stateMutability: 'nonpayable', outputs: [],
  inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }] }]
const abis = { carWallet: carWalletAbi, executionBalance: executionBalanceAbi, spoof }
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  CAPABILITIES
  async handler(ctx) {
    const plan = await ctx.kv.get('plan')
    if (!plan) return
    await ctx.kv.delete('plan')
    if (plan.op === 'device') return void (await ctx.devices[plan.action](plan.device, plan.options))
    if (plan.op === 'write') {
      const value = plan.value === undefined ? {} : { value: BigInt(plan.value) }
      return void (await ctx.chain.write({ contract: plan.contract, abi: abis[plan.abi], functionName: plan.functionName, args: plan.args, ...value }))
    }
    if (plan.op === 'secrets') return void (await ctx.kv.set('leak', Object.keys(ctx.secrets)))
    if (plan.op === 'kv') return void (await ctx.kv.set('big', 'x'.repeat(plan.bytes)))
  },
})`

const capabilities = {
  rogue: `capabilities: {
    devices: { actions: ['lock', 'unlock', 'warn'] },
    write: [{ contract: '*', functionName: 'payDue()' }],
    secrets: ['PUBLIC_NOTE'],
  },`,
  sneaky: '',
}

/**
 * Has `fn` carry out `plan` in the next block (a jump in time mines the warning blocks on the way first: the
 * plan is carried out in the first); returns the run that carried it out, failed or not.
 */
async function attempt(env: Env, fn: 'rogue' | 'sneaky', plan: Plan, at?: bigint) {
  await env.s.engine.store.kvSet(fn, 'plan', JSON.stringify(plan))
  const before = env.s.runs.length
  await env.s.mine(at)
  return env.s.runs.slice(before).find((r) => r.run.functionName === fn)
}

/** Refused when the run failed with `name` (and `reason`, when given); nothing else counts as refused. */
function judged(run: EngineEvents['run'] | undefined, name: string, reason?: string): AttackOutcome {
  const error = run?.run.error
  if (!run) return { gotThrough: false, unexpected: true, detail: 'the function did not run' }
  if (run.run.status === 'ok') return { gotThrough: true, detail: 'the run succeeded' }
  const got = `${error?.name}${error?.reason == null ? '' : `(${String(error.reason)})`}`
  const ok = error?.name === name && (reason === undefined || error?.reason === reason)
  return ok
    ? { gotThrough: false, detail: `refused: ${got}` }
    : {
        gotThrough: false,
        unexpected: true,
        detail: `refused by ${got}, expected ${name}${reason ? `(${reason})` : ''}: ${error?.message?.split('\n')[0]}`,
      }
}

/** The car's state afterwards: a wrong lock if it is locked while its loan is not delinquent. */
async function carCheck(env: Env, outcome: AttackOutcome, expectLocked: boolean): Promise<AttackOutcome> {
  const locked = env.s.agent.state().locked
  if (locked === expectLocked) return outcome
  return locked
    ? { ...outcome, gotThrough: true, wrongLock: true, detail: `${outcome.detail}; the car is locked` }
    : { ...outcome, gotThrough: true, detail: `${outcome.detail}; the delinquent car is unlocked` }
}

const carOf = (env: Env) => env.s.car.deviceId.toLowerCase()
const loanTerms = (env: Env) => env.s.loanTerms()

/** While the loan is current (paid ahead). */
const whileCurrent: readonly Attack<Env>[] = [
  {
    kind: 'function-locks-a-paid-up-car',
    async run(env) {
      const { lockAt, policy } = await loanTerms(env)
      const run = await attempt(env, 'rogue', {
        op: 'device',
        action: 'lock',
        device: carOf(env),
        options: { lockAt: Number(lockAt), policy },
      })
      return carCheck(env, judged(run, 'CommandRefusedError', 'not-delinquent'), false)
    },
  },
  {
    kind: 'function-warns-a-car-whose-loan-is-current',
    async run(env) {
      const { lockAt, policy } = await loanTerms(env)
      const run = await attempt(env, 'rogue', {
        op: 'device',
        action: 'warn',
        device: carOf(env),
        options: { lockAt: Number(lockAt), policy },
      })
      return carCheck(env, judged(run, 'CommandRefusedError', 'no-missed-due-date'), false)
    },
  },
  {
    kind: 'function-commands-a-made-up-device-id',
    async run(env) {
      const run = await attempt(env, 'rogue', { op: 'device', action: 'unlock', device: env.madeUp })
      const stored = await env.s.engine.store.getDevice(env.madeUp)
      const outcome = judged(run, 'CommandRefusedError', 'not-operator')
      return stored
        ? { ...outcome, gotThrough: true, detail: `${outcome.detail}; a desired state was stored` }
        : outcome
    },
  },
  {
    kind: 'function-unlocks-without-the-capability',
    async run(env) {
      return judged(
        await attempt(env, 'sneaky', { op: 'device', action: 'unlock', device: carOf(env) }),
        'CapabilityError',
      )
    },
  },
  {
    kind: 'function-locks-without-the-capability',
    async run(env) {
      const run = await attempt(env, 'sneaky', { op: 'device', action: 'lock', device: carOf(env) })
      return carCheck(env, judged(run, 'CapabilityError'), false)
    },
  },
  {
    kind: 'function-raises-execution-prices-as-the-operator',
    async run(env) {
      const plan: Plan = {
        op: 'write',
        abi: 'executionBalance',
        contract: 'ExecutionBalance',
        functionName: 'setPrices',
        args: ['1000000000000', '1', '1', '1'],
      }
      return judged(await attempt(env, 'rogue', plan), 'CapabilityError')
    },
  },
  {
    kind: 'function-sends-the-operators-eth-away',
    async run(env) {
      const plan: Plan = {
        op: 'write',
        abi: 'carWallet',
        contract: env.s.car.walletAddress,
        functionName: 'payDue',
        value: '1000000000000000000',
      }
      return judged(await attempt(env, 'rogue', plan), 'CapabilityError')
    },
  },
  {
    kind: 'function-calls-another-selector-under-a-granted-name',
    async run(env) {
      const plan: Plan = {
        op: 'write',
        abi: 'spoof',
        contract: env.s.car.walletAddress,
        functionName: 'payDue',
        args: [env.madeUp, '1'],
      }
      return judged(await attempt(env, 'rogue', plan), 'CapabilityError')
    },
  },
  {
    kind: 'function-reads-secrets-it-did-not-declare',
    async run(env) {
      const run = await attempt(env, 'rogue', { op: 'secrets' })
      const leak = JSON.parse((await env.s.engine.store.kvGet('rogue', 'leak')) ?? '[]') as string[]
      if (run?.run.status !== 'ok')
        return { gotThrough: false, unexpected: true, detail: `the run failed: ${run?.run.error?.message}` }
      return leak.includes('OPERATOR_API_TOKEN')
        ? { gotThrough: true, detail: `ctx.secrets held ${leak.join(', ')}` }
        : { gotThrough: false, detail: `ctx.secrets held only ${leak.join(', ') || '(nothing)'}` }
    },
  },
  {
    kind: 'function-puts-its-own-text-on-a-dashboard',
    async run(env) {
      const { loan, policy } = await loanTerms(env)
      const before = (await env.s.engine.store.getDevice(carOf(env)))?.desiredVersion ?? 0
      // A scam line with a text-direction override, far longer than a dashboard shows.
      const message = `Pay 0x${'ee'.repeat(20)} now \u202e${'!'.repeat(300)}`
      const options = { message, lockAt: Number(loan.nextDueAt + loan.grace), policy }
      const run = await attempt(env, 'rogue', { op: 'device', action: 'warn', device: carOf(env), options })
      const after = (await env.s.engine.store.getDevice(carOf(env)))?.desiredVersion ?? 0
      if (!run) return { gotThrough: false, unexpected: true, detail: 'the function did not run' }
      if (run.run.status === 'ok' || after !== before)
        return { gotThrough: true, detail: 'the text was stored for the car' }
      const error = run.run.error?.message?.split('\n')[0] ?? ''
      return /characters|control|direction/.test(error)
        ? { gotThrough: false, detail: `refused: ${error}` }
        : { gotThrough: false, unexpected: true, detail: `refused for another reason: ${error}` }
    },
  },
  {
    // 8 MB: 128 times the value limit. Refusing it is the host's KvLimitError either way, but the value
    // must first cross out of the isolate, at ~10 ms per MB here: 50 MB took ~0.5 s of the run's 1 s timeout
    // on an idle machine, so under load the timeout refused it first. The timeout still bounds bigger ones.
    kind: 'function-stores-8-mb-in-kv',
    async run(env) {
      const run = await attempt(env, 'rogue', { op: 'kv', bytes: 8 * 1024 * 1024 })
      const stored = await env.s.engine.store.kvGet('rogue', 'big')
      const outcome = judged(run, 'KvLimitError')
      return stored
        ? { ...outcome, gotThrough: true, detail: `${outcome.detail}; ${stored.length} bytes stored` }
        : outcome
    },
  },
]

/** A day past the missed due date (a warning is due), then past due + grace (delinquent, the car locks). */
const whileLate: readonly Attack<Env>[] = [
  {
    kind: 'function-warns-with-a-lock-time-a-week-early',
    async run(env) {
      const { loan, lockAt, policy } = await loanTerms(env)
      const plan: Plan = {
        op: 'device',
        action: 'warn',
        device: carOf(env),
        options: { lockAt: Number(lockAt) - 7 * 86_400, policy },
      }
      const run = await attempt(env, 'rogue', plan, loan.nextDueAt + 86_400n)
      return carCheck(env, judged(run, 'CommandRefusedError', 'terms-mismatch'), false)
    },
  },
  {
    kind: 'function-unlocks-a-delinquent-car',
    async run(env) {
      const { lockAt } = await loanTerms(env)
      await env.s.mine(lockAt)
      if (!env.s.agent.state().locked)
        return { gotThrough: false, unexpected: true, detail: 'the car did not lock at due + grace' }
      const run = await attempt(env, 'rogue', { op: 'device', action: 'unlock', device: carOf(env) })
      return carCheck(env, judged(run, 'CommandRefusedError', 'delinquent'), true)
    },
  },
  {
    kind: 'function-steps-a-locked-car-back-to-a-warning',
    async run(env) {
      const { lockAt, policy } = await loanTerms(env)
      const plan: Plan = {
        op: 'device',
        action: 'warn',
        device: carOf(env),
        options: { final: true, lockAt: Number(lockAt), policy },
      }
      return carCheck(
        env,
        judged(await attempt(env, 'rogue', plan), 'CommandRefusedError', 'delinquent'),
        true,
      )
    },
  },
]

/**
 * Runs the function attacks: the demo's functions with the rogue and the sneaky one, on one financed car,
 * first while its loan is current, then while it is late; at the end the owner pays and the car must unlock
 * (a missed unlock otherwise).
 *
 * @example
 * const results = await runFunctionAttacks((line) => console.error(line))
 */
export async function runFunctionAttacks(log: (line: string) => void): Promise<AttackResult[]> {
  const fns = makeFunctionsDir()
  const functions = await Promise.all(
    (['rogue', 'sneaky'] as const).map((name) =>
      loadFunction(fns.write(name, body.replace('CAPABILITIES', capabilities[name]))),
    ),
  )
  const s = await startScenario({
    extraFunctions: functions,
    secrets: { PUBLIC_NOTE: 'shared with rogue', OPERATOR_API_TOKEN: 'only the operator may read this' },
  })
  try {
    const env: Env = { s, madeUp: `0x${'cd'.repeat(20)}` }
    // Paid ahead: the loan is current, and its timers are armed.
    await s.reload(s.car.installment)
    await s.mine()
    const results = [
      ...(await runAttacks('functions', env, whileCurrent, log)),
      ...(await runAttacks('functions', env, whileLate, log)),
    ]
    // Every attack refused, the paid car must still unlock: the guard must not stand in a genuine unlock's way.
    const unlocked = s.waitForCar(false)
    await s.reload(s.car.installment * 2n)
    await s.mine()
    const missed = await unlocked.then(
      () => false,
      () => true,
    )
    const last = results.at(-1)
    if (missed && last)
      Object.assign(last, {
        missedUnlock: true,
        gotThrough: true,
        detail: `${last.detail}; the paid car stayed locked`,
      })
    return results
  } finally {
    await s.stop()
    fns.remove()
  }
}
