/**
 * One attack of `npm run attacks`: what an outsider (an account, a function, an MQTT client) tries, and
 * whether pbj refused it. `gotThrough` is true when the attack achieved anything; `wrongLock` when a car
 * whose loan is current ended up locked; `missedUnlock` when a paid car stayed locked. `unexpected` marks a
 * refusal for another reason than the one the attack should meet (still refused, but worth a look).
 *
 * @example
 * const result: AttackResult = { group: 'contracts', kind: 'register-device-without-its-key', gotThrough: false, detail: 'BadDeviceSignature' }
 */
export type AttackResult = {
  group: string
  kind: string
  gotThrough: boolean
  wrongLock?: boolean
  missedUnlock?: boolean
  unexpected?: boolean
  detail: string
}

/** What an attack's body reports; the runner adds its group and kind. */
export type AttackOutcome = Omit<AttackResult, 'group' | 'kind'>

/** A named attack against an environment `env` that its group sets up once. */
export type Attack<env> = { kind: string; run(env: env): Promise<AttackOutcome> }

/**
 * Runs a group's attacks one after the other against one environment. An attack whose own code fails (not
 * the system refusing it) is reported as `unexpected` with the error, never as refused silently.
 *
 * @example
 * const results = await runAttacks('contracts', env, contractAttacks, log)
 */
export async function runAttacks<env>(
  group: string,
  env: env,
  attacks: readonly Attack<env>[],
  log: (line: string) => void,
): Promise<AttackResult[]> {
  const results: AttackResult[] = []
  for (const attack of attacks) {
    let outcome: AttackOutcome
    try {
      outcome = await attack.run(env)
    } catch (error) {
      outcome = { gotThrough: false, unexpected: true, detail: `attack failed to run: ${messageOf(error)}` }
    }
    const result = { group, kind: attack.kind, ...outcome }
    results.push(result)
    const verdict = result.gotThrough ? 'GOT THROUGH' : result.unexpected ? 'refused (unexpected)' : 'refused'
    log(`  ${verdict.padEnd(20)} ${group}/${attack.kind}: ${result.detail}`)
  }
  return results
}

/**
 * The verdict on a call that must revert with `expected` (a custom error name): refused when it reverts,
 * unexpected when for another reason, through when it succeeds.
 *
 * @example
 * return expectRevert(() => outsider.writeContract({ …, functionName: 'addOperator', … }), 'NotDeviceOwner')
 */
export async function expectRevert(call: () => Promise<unknown>, expected: string): Promise<AttackOutcome> {
  try {
    await call()
  } catch (error) {
    const text = messageOf(error)
    return text.includes(expected)
      ? { gotThrough: false, detail: `reverted ${expected}` }
      : { gotThrough: false, unexpected: true, detail: `reverted, but not with ${expected}: ${text}` }
  }
  return { gotThrough: true, detail: `succeeded; expected a revert with ${expected}` }
}

/** The first line of an error's message (viem's shortMessage when it has one). */
export function messageOf(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown }
  const text = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error)
  // viem puts the custom error's name on a later line ("Error: NotDeviceOwner(…)"): keep it.
  const named = String(e?.message ?? '').match(/Error: (\w+\(.*?\))/)?.[1]
  return named ? `${text.split('\n')[0]} ${named}` : (text.split('\n')[0] ?? text)
}

/**
 * The summary line of `npm run attacks`: how many attacks of how many kinds were tried and how many got
 * anything through; exit code 0 only when none did.
 *
 * @example
 * const summary = summarize(results) // { tried: 41, kinds: 41, gotThrough: 0, wrongLocks: 0, missedUnlocks: 0, … }
 */
export function summarize(results: readonly AttackResult[]) {
  const byGroup: Record<string, { tried: number; gotThrough: number }> = {}
  for (const r of results) {
    const g = byGroup[r.group] ?? { tried: 0, gotThrough: 0 }
    byGroup[r.group] = g
    g.tried++
    if (r.gotThrough) g.gotThrough++
  }
  return {
    tried: results.length,
    kinds: new Set(results.map((r) => `${r.group}/${r.kind}`)).size,
    gotThrough: results.filter((r) => r.gotThrough).length,
    wrongLocks: results.filter((r) => r.wrongLock).length,
    missedUnlocks: results.filter((r) => r.missedUnlock).length,
    unexpected: results.filter((r) => r.unexpected).length,
    byGroup,
    through: results.filter((r) => r.gotThrough).map((r) => `${r.group}/${r.kind}`),
  }
}
