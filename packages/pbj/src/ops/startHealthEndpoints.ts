import { createHealth, type Health } from '../internal/health.js'
import type { Logger } from '../internal/logger.js'
import { createHealthServer } from './createHealthServer.js'
import { type InstrumentedEngine, instrumentEngine } from './instrumentEngine.js'

/** The health server of a command, started before its engine exists. */
export type HealthEndpoints = {
  /** Pass it to createEngine (`health`), so the checks the engine reports are the ones served. */
  health: Health
  /** e.g. `http://127.0.0.1:9464`. */
  url: string
  /** Instruments the engine and serves its metrics on /metrics from now on. */
  attach(engine: InstrumentedEngine): void
  /** Stops the instrumentation and the server. */
  close(): Promise<void>
}

/**
 * Starts the health server before anything connects: while the engine waits for its RPC, /healthz answers
 * 200 and /readyz 503 with `chain` not ok. Logs `health endpoints listening` with `healthUrl` once it
 * listens (supervisors, tests and the chaos harness find a port 0 from it).
 *
 * @example
 * const endpoints = await startHealthEndpoints({ port: 0, logger })
 * const engine = await createEngine({ ...options, health: endpoints.health })
 * endpoints.attach(engine)
 */
export async function startHealthEndpoints(options: {
  host?: string | undefined
  port?: number | undefined
  logger: Pick<Logger, 'info'>
}): Promise<HealthEndpoints> {
  const health = createHealth()
  health.expect('chain', 'connecting to the node')
  const server = await createHealthServer({ health, host: options.host, port: options.port })
  options.logger.info('health endpoints listening', { healthUrl: server.url })
  let detach: (() => void) | undefined
  return {
    health,
    url: server.url,
    attach(engine) {
      detach?.()
      detach = instrumentEngine(engine)
      server.setMetrics(engine.metrics)
    },
    async close() {
      detach?.()
      await server.close()
    },
  }
}
