import type { PbjProcess } from './spawnPbj.js'

/** The counts one scenario adds to the run's totals (the JSON line's fields). */
export type Counts = {
  orphans: number
  lost: number
  duplicated: number
  wrongLocks: number
  unhealedDrift: number
}

/** What one scenario found: its counts, the exit codes it saw, and each failed expectation in words. */
export type ScenarioResult = Counts & {
  name: string
  ok: boolean
  hung: boolean
  failures: string[]
  exitCodes: Record<string, number | null>
  ms: number
}

/** What a scenario's run gets: where to record what it found, and what to clean up however it ends. */
export type ScenarioContext = {
  log(line: string): void
  /** A process of the scenario: killed with its whole tree when the scenario ends or hangs. */
  track(p: PbjProcess): PbjProcess
  /** Runs when the scenario ends, hung or not (newest first). */
  onCleanup(fn: () => Promise<void> | void): void
  /** Records a failure unless `ok`. Returns `ok`. */
  expect(ok: boolean, failure: string): boolean
  add(count: keyof Counts, n: number): void
  exitCode(label: string, code: number | null): void
}

/** One chaos scenario: a named failure, run against real processes, with a hard timeout. */
export type Scenario = {
  name: string
  /** Beyond it the scenario counts as hung and is killed with its process trees. */
  timeoutMs: number
  /** In words: the feature of issue 12 it checks (the report says which branch brings it). */
  checks: string
  run(ctx: ScenarioContext): Promise<void>
}

/**
 * Runs one scenario with its timeout (or `options.timeoutMs`, e.g. inside a test's own timeout); whatever happens, every tracked process tree is killed and the
 * cleanups run. A scenario that throws is failed with the error; one past its timeout is hung.
 *
 * @example
 * const result = await runScenario(secondEngine, (l) => process.stderr.write(`${l}\n`))
 */
export async function runScenario(
  scenario: Scenario,
  log: (line: string) => void,
  options: { timeoutMs?: number } = {},
): Promise<ScenarioResult> {
  const started = Date.now()
  const timeoutMs = options.timeoutMs ?? scenario.timeoutMs
  const result: ScenarioResult = {
    name: scenario.name,
    ok: true,
    hung: false,
    failures: [],
    exitCodes: {},
    orphans: 0,
    lost: 0,
    duplicated: 0,
    wrongLocks: 0,
    unhealedDrift: 0,
    ms: 0,
  }
  const processes: PbjProcess[] = []
  const cleanups: (() => Promise<void> | void)[] = []
  const ctx: ScenarioContext = {
    log: (line) => log(`  ${scenario.name}: ${line}`),
    track(p) {
      processes.push(p)
      return p
    },
    onCleanup: (fn) => void cleanups.unshift(fn),
    expect(ok, failure) {
      if (!ok) result.failures.push(failure)
      return ok
    },
    add(count, n) {
      result[count] += n
    },
    exitCode(label, code) {
      result.exitCodes[label] = code
    },
  }
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), timeoutMs)
  })
  try {
    const outcome = await Promise.race([scenario.run(ctx).then(() => 'done' as const), hung])
    if (outcome === 'hung') {
      result.hung = true
      result.failures.push(`hung: still running after ${timeoutMs} ms; killed`)
    }
  } catch (error) {
    result.failures.push(`threw: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    clearTimeout(timer)
    for (const p of processes) p.tree.killAll()
    for (const fn of cleanups) {
      try {
        await Promise.race([fn(), new Promise((r) => setTimeout(r, 10_000))])
      } catch (error) {
        log(`  ${scenario.name}: cleanup failed: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }
  result.ms = Date.now() - started
  result.ok =
    result.failures.length === 0 &&
    result.orphans + result.lost + result.duplicated + result.wrongLocks + result.unhealedDrift === 0
  return result
}
