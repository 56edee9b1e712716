/**
 * One named condition the engine needs to do its work: the chain reachable, the store writable, the broker
 * connected, the follower within N blocks of the node's head. Each stage reports its own; `/readyz` is ready
 * only when every check is.
 */
export type HealthCheck = {
  ok: boolean
  /** Why it is not ok, in words an operator can act on (the error's first line and its fix). */
  detail?: string | undefined
  /** When it last changed (ms epoch): how long a check has been failing. */
  since: number
}

/**
 * The engine's health, as its stages report it (see {@link createHealth}). Liveness is the process answering
 * at all; readiness is every check ok. A stage that has not reported yet counts as not ready only if it was
 * declared with `expect`, so a start-up that is still connecting is not ready, and a stage the engine does
 * not use (no payment, say) never blocks readiness.
 */
export type Health = {
  /** Declares a check that must report ok before the engine is ready (e.g. 'chain' while connecting). */
  expect(name: string, detail: string): void
  /** Reports a check's state; a change of `ok` moves its `since`. */
  set(name: string, ok: boolean, detail?: string): void
  /** Every check as it is now, and whether all are ok. */
  report(): { ready: boolean; checks: Record<string, HealthCheck> }
  /** Called with the check's name on every change of `ok` (for logs and metrics). Returns an unsubscribe. */
  onChange(listener: (name: string, check: HealthCheck) => void): () => void
}

/**
 * @example
 * const health = createHealth()
 * health.expect('chain', 'connecting to the node')
 * health.set('chain', true)
 * health.report().ready // true
 */
export function createHealth(now: () => number = Date.now): Health {
  const checks = new Map<string, HealthCheck>()
  const listeners = new Set<(name: string, check: HealthCheck) => void>()
  const set = (name: string, ok: boolean, detail?: string) => {
    const before = checks.get(name)
    const check: HealthCheck = {
      ok,
      ...(ok || detail === undefined ? {} : { detail }),
      since: before && before.ok === ok ? before.since : now(),
    }
    checks.set(name, check)
    if (!before || before.ok !== ok) for (const listener of listeners) listener(name, check)
  }
  return {
    expect: (name, detail) => {
      if (!checks.has(name)) set(name, false, detail)
    },
    set,
    report() {
      const all = Object.fromEntries([...checks].map(([k, v]) => [k, { ...v }]))
      return { ready: [...checks.values()].every((c) => c.ok), checks: all }
    },
    onChange(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
