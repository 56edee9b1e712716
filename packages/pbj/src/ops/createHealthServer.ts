import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HealthListenError } from '../internal/errors.js'
import type { Health } from '../internal/health.js'
import type { Metrics } from '../internal/metrics.js'
import { withUrlOrigins } from '../internal/urlOrigin.js'

/** Where the health server listens and what it serves. */
export type HealthServerOptions = {
  health: Health
  /** Served on /metrics; without it /metrics is 404 (the health alone, e.g. before the engine exists). */
  metrics?: Pick<Metrics, 'scrape'> | undefined
  /** Default 127.0.0.1: the endpoints say how the engine is doing; expose them on purpose. */
  host?: string | undefined
  /** Default 9464; 0 picks a free port (see the returned `url`). */
  port?: number | undefined
}

/** A listening health server. */
export type HealthServer = {
  /** e.g. `http://127.0.0.1:9464`. */
  url: string
  port: number
  /** Serves the metrics from now on (the engine was created after the server started). */
  setMetrics(metrics: Pick<Metrics, 'scrape'>): void
  close(): Promise<void>
}

const json = 'application/json; charset=utf-8'

/**
 * Serves what a supervisor and Prometheus read: `GET /healthz` 200 `{"status":"alive"}` while the process
 * answers at all (liveness: restart it only when this fails); `GET /readyz` 200 or 503 with every check
 * (readiness: the store writable, the broker connected, the chain reachable and followed within N blocks);
 * `GET /metrics`, the Prometheus text. HEAD answers as GET without the body; anything else is 404 (405 for
 * another method on a known path). It starts before the engine connects anything, so an engine waiting for
 * its RPC already answers /healthz 200 and /readyz 503.
 *
 * @example
 * const server = await createHealthServer({ health: engine.health, metrics: engine.metrics, port: 0 })
 * await fetch(`${server.url}/readyz`) // 200 once every check is ok
 */
export async function createHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { health } = options
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 9464
  let metrics = options.metrics
  const answer = (res: ServerResponse, head: boolean, status: number, type: string, body: string) => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    })
    res.end(head ? undefined : body)
  }
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]
    const known = path === '/healthz' || path === '/readyz' || path === '/metrics'
    if (!known || (path === '/metrics' && !metrics))
      return answer(res, false, 404, json, `${JSON.stringify({ error: 'not found', path })}\n`)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return answer(res, false, 405, json, `${JSON.stringify({ error: 'method not allowed' })}\n`)
    }
    const head = req.method === 'HEAD'
    if (path === '/healthz') return answer(res, head, 200, json, `${JSON.stringify({ status: 'alive' })}\n`)
    if (path === '/readyz') {
      const report = health.report()
      // A check's detail is often an error message, which names its URL whole (an RPC key in the path).
      for (const check of Object.values(report.checks))
        if (check.detail !== undefined) check.detail = withUrlOrigins(check.detail)
      return answer(res, head, report.ready ? 200 : 503, json, `${JSON.stringify(report)}\n`)
    }
    const scraped = await (metrics as Pick<Metrics, 'scrape'>).scrape()
    return answer(res, head, 200, scraped.contentType, scraped.body)
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A sampler that failed (the store closing under a scrape): the scrape fails, the server stays.
      if (!res.headersSent)
        answer(
          res,
          false,
          500,
          json,
          `${JSON.stringify({ error: String((error as Error)?.message ?? error) })}\n`,
        )
      else res.destroy()
    })
  })
  // Keep-alive connections (Prometheus keeps one open) must not hold close() up.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new HealthListenError({ host, port, cause })))
    server.listen({ host, port }, () => resolve())
  })
  // Never keeps the process alive by itself: the engine (or the CLI's wait for a signal) does.
  server.unref()
  const bound = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shownHost}:${bound}`,
    port: bound,
    setMetrics(next) {
      metrics = next
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
