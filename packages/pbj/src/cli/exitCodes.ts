import { BrokerError, ConfigError, StoreRefusedError, UsageError, walk } from '../internal/errors.js'

/**
 * The exit codes of `pbj start` and `pbj dev`: the contract a supervisor (systemd, a container runtime)
 * reads to decide whether restarting can help. 3 and 4 will fail again until someone changes the config or
 * the store; 1 and 5 may pass on a retry.
 */
export const exitCodes = {
  /** Stopped cleanly (SIGTERM/SIGINT): drained. */
  ok: 0,
  /** An unexpected failure. */
  failed: 1,
  /** An unknown command or option, a bad argument. */
  usage: 2,
  /** The config was refused: bad config, a contract without code or the wrong interface, an unknown contract. */
  config: 3,
  /** The store was refused: locked by another engine, integrity check failed, write-ahead log missing, newer schema. */
  store: 4,
  /** A dependency failed at start: the broker unreachable or refusing the login. */
  dependency: 5,
} as const

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes]

/** better-sqlite3's codes for a file that is not a usable database (not one, damaged, or held by another). */
const sqliteRefusals = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_BUSY', 'SQLITE_LOCKED'])

/** The code of one link of a cause chain, or null when its class belongs to no family. */
function familyCode(error: unknown): ExitCode | null {
  if (error instanceof UsageError) return exitCodes.usage
  if (error instanceof ConfigError) return exitCodes.config
  if (error instanceof BrokerError) return exitCodes.dependency
  if (error instanceof StoreRefusedError) return exitCodes.store
  if (typeof error !== 'object' || error === null) return null
  const { code } = error as { code?: unknown }
  if (typeof code === 'string' && sqliteRefusals.has(code)) return exitCodes.store
  return null
}

/**
 * The exit code a failed command ends with: the family of the first error in the cause chain (the error
 * itself first) that belongs to one — UsageError 2, ConfigError 3, the store's refusals 4, BrokerError 5 —
 * else 1. Walks causes because a stage may wrap another's error (a BrokerError from inside an engine start-up).
 *
 * @example
 * process.exitCode = exitCodeOf(new BrokerConnectError({ ... })) // 5
 */
export function exitCodeOf(error: unknown): ExitCode {
  let code: ExitCode | null = null
  walk(error, (e) => {
    code = familyCode(e)
    return code !== null
  })
  return code ?? exitCodes.failed
}
