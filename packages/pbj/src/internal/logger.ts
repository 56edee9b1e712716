import { type DestinationStream, destination as fileDestination, pino } from 'pino'
import pinoPretty from 'pino-pretty'

/** Structured fields of a log record: what a reader filters on (function, device, block, hash…). */
export type LogFields = Record<string, unknown>

/**
 * Where pbj writes what it is doing, warnings included: one channel, records with a message and fields.
 * The CLI writes them to stderr (see {@link createLogger}); tests pass one that collects them.
 */
export type Logger = {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

/** A logger that drops everything. @example createEngine({ …, logger: silentLogger }) */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

export type CreateLoggerOptions = {
  /** Shown as `name` on every record. Default 'pbj'. */
  name?: string
  /** Least severe level written. Default 'info'. */
  level?: 'info' | 'warn' | 'error' | 'silent'
  /** Human-readable lines instead of JSON. Default: when stderr is a terminal. */
  pretty?: boolean
  /**
   * Where records go, in the format `pretty` chose (a pretty destination must be a Node writable stream).
   * Default stderr, written synchronously so no line is lost when the process exits.
   */
  destination?: DestinationStream
}

/**
 * A pino logger writing to stderr: JSON lines when stderr is a file or a pipe (for a log shipper), pretty
 * lines when it is a terminal. Writes are synchronous: pbj's CLI exits right after its last message.
 *
 * @example
 * const logger = createLogger()
 * logger.warn('broker reconnecting', { url })
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true
  const destination = pretty
    ? pinoPretty({
        destination: options.destination ?? 2,
        sync: true,
        colorize: true,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
      })
    : (options.destination ?? fileDestination({ fd: 2, sync: true }))
  const log = pino({ name: options.name ?? 'pbj', level: options.level ?? 'info' }, destination)
  return {
    info: (message, fields) => log.info(toSerializable(fields), message),
    warn: (message, fields) => log.warn(toSerializable(fields), message),
    error: (message, fields) => log.error(toSerializable(fields), message),
  }
}

/** Fields as JSON can hold them: bigints (block numbers, wei) become decimal strings, errors their message. */
function toSerializable(fields: LogFields | undefined): LogFields {
  if (!fields) return {}
  const out: LogFields = {}
  for (const [key, value] of Object.entries(fields))
    out[key] = typeof value === 'bigint' ? value.toString() : value instanceof Error ? value.message : value
  return out
}
