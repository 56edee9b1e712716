import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { HealthListenError } from '../internal/errors.js'
import { createHealth } from '../internal/health.js'
import { createMetrics } from '../internal/metrics.js'
import { createHealthServer, type HealthServer } from './createHealthServer.js'

/** One HTTP request, its status, headers and body (fetch cannot send HEAD and show the empty body as such). */
const call = (url: string, method = 'GET') =>
  new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = ''
      res.on('data', (chunk) => {
        body += chunk
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      )
    })
    req.on('error', reject)
    req.end()
  })

const servers: HealthServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

describe('createHealthServer', () => {
  it('answers /healthz while alive, and /readyz 503 until every check is ok, then 200', async () => {
    const health = createHealth()
    health.expect('chain', 'connecting to the node')
    health.set('store', true)
    const server = await createHealthServer({ health, port: 0 })
    servers.push(server)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.port).toBeGreaterThan(0)

    const alive = await call(`${server.url}/healthz`)
    expect(alive).toMatchObject({ status: 200, type: 'application/json; charset=utf-8' })
    expect(JSON.parse(alive.body)).toEqual({ status: 'alive' })

    const waiting = await call(`${server.url}/readyz`)
    expect(waiting.status).toBe(503)
    expect(JSON.parse(waiting.body)).toMatchObject({
      ready: false,
      checks: { chain: { ok: false, detail: 'connecting to the node' }, store: { ok: true } },
    })

    health.set('chain', true)
    const ready = await call(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, checks: { chain: { ok: true } } })

    // A check that fails again (the broker dropped) flips it back.
    health.set('broker', false, 'MQTT broker unreachable')
    health.set('chain', false, 'No answer from https://rpc.example/v3/s3cretkey within 10000 ms')
    const leaked = await call(`${server.url}/readyz`)
    expect(leaked.body).not.toContain('s3cretkey')
    expect(JSON.parse(leaked.body).checks.chain.detail).toBe(
      'No answer from https://rpc.example within 10000 ms',
    )
    health.set('chain', true)
    const dropped = await call(`${server.url}/readyz`)
    expect(dropped.status).toBe(503)
    expect(JSON.parse(dropped.body).checks.broker).toMatchObject({
      ok: false,
      detail: 'MQTT broker unreachable',
    })
  })

  it('serves the metrics as Prometheus text, HEAD without a body, 404 elsewhere and 405 for other methods', async () => {
    const metrics = createMetrics()
    metrics.set('pbj_processed_block', 42)
    const server = await createHealthServer({ health: createHealth(), metrics, port: 0 })
    servers.push(server)
    const scraped = await call(`${server.url}/metrics`)
    expect(scraped.status).toBe(200)
    expect(scraped.type).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(scraped.body).toMatch(/^pbj_processed_block 42$/m)

    const head = await call(`${server.url}/metrics`, 'HEAD')
    expect(head).toMatchObject({ status: 200, body: '' })
    expect((await call(`${server.url}/readyz`, 'HEAD')).body).toBe('')
    expect((await call(`${server.url}/nope`)).status).toBe(404)
    expect((await call(`${server.url}/`)).status).toBe(404)
    expect((await call(`${server.url}/healthz`, 'POST')).status).toBe(405)
    // A query string does not change the path.
    expect((await call(`${server.url}/healthz?verbose=1`)).status).toBe(200)
  })

  it('has no /metrics until it is given them (the health alone, before the engine exists)', async () => {
    const server = await createHealthServer({ health: createHealth(), port: 0 })
    servers.push(server)
    expect((await call(`${server.url}/metrics`)).status).toBe(404)
    const metrics = createMetrics()
    server.setMetrics(metrics)
    expect((await call(`${server.url}/metrics`)).status).toBe(200)
  })

  it('answers 500 when a sampler fails, and keeps serving', async () => {
    const metrics = createMetrics()
    let fail = true
    metrics.onCollect(() => {
      if (fail) throw new Error('the store is closed')
    })
    const server = await createHealthServer({ health: createHealth(), metrics, port: 0 })
    servers.push(server)
    const failed = await call(`${server.url}/metrics`)
    expect(failed.status).toBe(500)
    expect(failed.body).toContain('the store is closed')
    fail = false
    expect((await call(`${server.url}/metrics`)).status).toBe(200)
  })

  it('refuses a port in use with a HealthListenError naming it and the fix', async () => {
    const first = await createHealthServer({ health: createHealth(), port: 0 })
    servers.push(first)
    const error = await createHealthServer({ health: createHealth(), port: first.port }).catch((e) => e)
    expect(error).toBeInstanceOf(HealthListenError)
    expect(error.message).toContain(`127.0.0.1:${first.port}: the port is in use`)
    expect(error.hint).toContain('health.port')
  })

  it('stops answering once closed', async () => {
    const server = await createHealthServer({ health: createHealth(), port: 0 })
    await server.close()
    await expect(call(`${server.url}/healthz`)).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('docs/operations.md', () => {
  it('documents every metric the catalogue exposes', async () => {
    const { readFileSync } = await import('node:fs')
    const { metricCatalog } = await import('../internal/metricCatalog.js')
    const docs = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8')
    const section = docs.slice(docs.indexOf('## Health and metrics'))
    const missing = Object.keys(metricCatalog).filter((name) => !section.includes(`\`${name}\``))
    expect(missing).toEqual([])
  })
})
