import { runScenario, type Scenario, type ScenarioResult } from './scenario.js'

/** The run's one line: totals over every scenario run. */
export type ChaosSummary = {
  scenarios: number
  hung: number
  orphans: number
  lost: number
  duplicated: number
  wrongLocks: number
  unhealedDrift: number
  failed: number
  /** Every exit code the scenarios saw, as `scenario: what` → code (null: still running, killed). */
  exitCodes: Record<string, number | null>
  ms: number
  /** The scenarios that failed, with their first failure. */
  failures: Record<string, string>
}

/**
 * Runs the scenarios one after another (`only`: those named), each with its hard timeout, and adds up
 * their counts.
 *
 * @example
 * const summary = await runChaos(scenarios, { only: ['second-engine'], log: console.error })
 */
export async function runChaos(
  all: readonly Scenario[],
  options: { only?: string[]; log: (line: string) => void; onResult?: (r: ScenarioResult) => void },
): Promise<ChaosSummary> {
  const started = Date.now()
  const unknown = (options.only ?? []).filter((n) => !all.some((s) => s.name === n))
  if (unknown.length > 0)
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`)
  const chosen = options.only?.length ? all.filter((s) => options.only?.includes(s.name)) : all
  const summary: ChaosSummary = {
    scenarios: 0,
    hung: 0,
    orphans: 0,
    lost: 0,
    duplicated: 0,
    wrongLocks: 0,
    unhealedDrift: 0,
    failed: 0,
    exitCodes: {},
    ms: 0,
    failures: {},
  }
  for (const scenario of chosen) {
    options.log(`chaos: ${scenario.name} — ${scenario.checks}`)
    const r = await runScenario(scenario, options.log)
    options.log(
      `chaos: ${scenario.name} ${r.ok ? 'passed' : 'FAILED'} in ${r.ms} ms${r.failures.length ? `: ${r.failures.join('; ')}` : ''}`,
    )
    options.onResult?.(r)
    summary.scenarios++
    if (r.hung) summary.hung++
    if (!r.ok) {
      summary.failed++
      summary.failures[r.name] = r.failures[0] ?? 'counts not 0'
    }
    for (const k of ['orphans', 'lost', 'duplicated', 'wrongLocks', 'unhealedDrift'] as const)
      summary[k] += r[k]
    for (const [label, code] of Object.entries(r.exitCodes)) summary.exitCodes[`${r.name}: ${label}`] = code
  }
  summary.ms = Date.now() - started
  return summary
}

/** True when every count of the run is 0 (the run's exit code is 0). @example okOf(summary) */
export function okOf(summary: ChaosSummary): boolean {
  return (
    summary.hung +
      summary.orphans +
      summary.lost +
      summary.duplicated +
      summary.wrongLocks +
      summary.unhealedDrift +
      summary.failed ===
    0
  )
}
