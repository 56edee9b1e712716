import type { ScenarioContext } from './scenario.js'
import { type OutputLine, type PbjProcess, spawnPbj, tailOf } from './spawnPbj.js'

/** The exit codes of the shared contract (packages/pbj/src/cli/exitCodes.ts on the lifecycle branch). */
export const exitCodes = { ok: 0, failure: 1, usage: 2, config: 3, store: 4, dependency: 5 } as const

const verbose = process.env.PBJ_CHAOS_VERBOSE !== undefined

/**
 * Starts `pbj start --dir <dir>` through the wrapper (bin/pbj.js), tracked by the scenario so that it is
 * killed with its tree however the scenario ends.
 *
 * @example
 * const engine = startEngine(ctx, stack.dir, 'first')
 */
export function startEngine(ctx: ScenarioContext, dir: string, label: string): PbjProcess {
  return ctx.track(
    spawnPbj(['start', '--dir', dir], { ...(verbose ? { log: (l) => ctx.log(`[${label}] ${l}`) } : {}) }),
  )
}

/**
 * Waits until the engine runs: /readyz answers 200. False, with a failure recorded, when it exited first
 * or did not within `ms`.
 */
export async function waitRunning(ctx: ScenarioContext, engine: PbjProcess, label: string, ms = 45_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const exit = engine.exited()
    if (exit)
      return ctx.expect(
        false,
        `${label}: exited (${exit.code ?? exit.signal}) before it ran (${tailOf(engine.lines)})`,
      )
    const url = await engine.healthUrl(0)
    if (url && (await getHealth(url, '/readyz')).status === 200) return true
    if (Date.now() > deadline) {
      const why = url ? '/readyz never answered 200' : 'it never logged its healthUrl'
      return ctx.expect(false, `${label}: not running within ${ms} ms: ${why} (${tailOf(engine.lines)})`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** GET a health endpoint: its status (0 when nothing answered) and its body as text. */
export async function getHealth(url: string, path: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(new URL(path, url), { signal: AbortSignal.timeout(2000) })
    return { status: res.status, body: await res.text() }
  } catch {
    return { status: 0, body: '' }
  }
}

/**
 * A start-up refusal as the contract has it: the process exits with `code`, after printing a message that
 * matches `message`, within 1 s of printing it (the failure's moment as seen from outside: a process that
 * prints its error and hangs fails); and leaves no
 * process of its tree behind.
 */
export async function expectRefusal(
  ctx: ScenarioContext,
  engine: PbjProcess,
  expected: { label: string; code: number; message: RegExp; waitMs?: number },
) {
  const { label, code, message } = expected
  const exit = await engine.waitExit(expected.waitMs ?? 30_000)
  ctx.exitCode(label, exit ? exit.code : null)
  if (!exit) {
    ctx.expect(
      false,
      `${label}: still running ${expected.waitMs ?? 30_000} ms after start (${tailOf(engine.lines)})`,
    )
    return
  }
  ctx.expect(
    exit.code === code,
    `${label}: exit ${exit.code ?? exit.signal}, expected ${code} (${tailOf(engine.lines)})`,
  )
  // The last such line: the error printed on the way out (warnings before it may name the same thing).
  const said: OutputLine | undefined = engine.lines.findLast((l) => message.test(l.text))
  if (
    ctx.expect(said !== undefined, `${label}: no message matching ${message} (${tailOf(engine.lines)})`) &&
    said
  )
    ctx.expect(
      exit.at - said.at <= 1000,
      `${label}: exited ${exit.at - said.at} ms after printing the error (at most 1000)`,
    )
  // "after printing the error with its hint": PbjError's text form ends with a "Fix: …" line; a JSON
  // record carries it as `hint`.
  ctx.expect(
    engine.lines.some((l) => /(^|\s)Fix: /.test(l.text) || typeof l.record?.hint === 'string'),
    `${label}: no hint printed with the error (a "Fix: …" line or a record's hint)`,
  )
  await countOrphans(ctx, engine, label, 2000)
}

/** Every process of the engine's tree still running `graceMs` after it ended: counted as orphans, killed. */
export async function countOrphans(ctx: ScenarioContext, p: PbjProcess, label: string, graceMs = 3000) {
  const left = await p.tree.survivors(graceMs)
  if (left.length > 0) {
    ctx.add('orphans', left.length)
    ctx.expect(
      false,
      `${label}: ${left.length} process(es) of its tree left: ${left.map((l) => l.pid).join(', ')}`,
    )
  }
  p.tree.killAll()
  return left.length
}

/** SIGTERM, then the exit (SIGKILL after `ms`); returns the exit code (null when it had to be killed). */
export async function stopEngine(engine: PbjProcess, ms = 15_000): Promise<number | null> {
  if (engine.exited()) return engine.exited()?.code ?? null
  engine.kill('SIGTERM')
  const exit = await engine.waitExit(ms)
  if (exit) return exit.code
  engine.tree.killAll()
  await engine.exit
  return null
}
