import type { LogFields, Logger } from '#pbj/internal/logger.js'

/** One record a {@link recordLogs} logger kept. */
export type LogRecord = { level: 'info' | 'warn' | 'error'; message: string; fields: LogFields }

/**
 * A logger that keeps its records, for tests that assert on what pbj logged (its warnings above all).
 *
 * @example
 * const logs = recordLogs()
 * const engine = await createEngine({ …, logger: logs.logger })
 * expect(logs.warnings().some((w) => w.startsWith('head subscription'))).toBe(true)
 */
export function recordLogs() {
  const records: LogRecord[] = []
  const followers = new Set<(record: LogRecord) => void>()
  const keep =
    (level: LogRecord['level']) =>
    (message: string, fields: LogFields = {}) => {
      const record = { level, message, fields }
      records.push(record)
      for (const follow of followers) follow(record)
    }
  const logger: Logger = { info: keep('info'), warn: keep('warn'), error: keep('error') }
  return {
    logger,
    records,
    /** The messages of the warnings so far. */
    warnings: () => records.filter((r) => r.level === 'warn').map((r) => r.message),
    /** The messages of the warnings from now on, in an array that fills as they are logged. */
    followWarnings(): string[] {
      const seen: string[] = []
      followers.add((r) => r.level === 'warn' && seen.push(r.message))
      return seen
    },
  }
}
