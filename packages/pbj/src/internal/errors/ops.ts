import { ConfigError } from './config.js'

/**
 * The health server cannot listen where the config says (the port is taken, the host is not this
 * machine's). A config error: the engine must not run unobservable, and the fix is in the config.
 *
 * @example
 * throw new HealthListenError({ host: '127.0.0.1', port: 9464, cause })
 */
export class HealthListenError extends ConfigError {
  override name = 'HealthListenError'
  constructor(params: { host: string; port: number; cause: unknown }) {
    const { host, port, cause } = params
    const code = (cause as { code?: unknown } | null)?.code
    super(
      `The health server cannot listen on ${host}:${port}${code === 'EADDRINUSE' ? ': the port is in use' : code === 'EADDRNOTAVAIL' ? ': the address is not on this machine' : ''}`,
      {
        hint: 'Set health.port in pbj.config.ts to a free port (0 picks one; the log record "health endpoints listening" says which), or stop what holds it.',
        docsPath: '#health-and-metrics',
        cause,
        meta: { host, port },
      },
    )
  }
}
