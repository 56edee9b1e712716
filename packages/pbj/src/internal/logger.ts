/** Where the engine writes what it is doing. The CLI prints it; tests collect it. */
export type Logger = {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** A logger that drops everything. @example createEngine({ …, logger: silentLogger }) */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

/**
 * A logger that prints one line per message to stderr.
 *
 * @example
 * const logger = consoleLogger('pbj')
 * logger.warn('broker reconnecting', { url })
 */
export function consoleLogger(prefix = 'pbj'): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) =>
    process.stderr.write(
      `${prefix} ${level} ${message}${fields ? ` ${JSON.stringify(fields, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}` : ''}\n`,
    )
  return {
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  }
}
