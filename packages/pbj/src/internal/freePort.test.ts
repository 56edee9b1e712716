import { createServer, type Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { getFreePort } from './freePort.js'

const listen = (port: number, host: string): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host, exclusive: true }, () => resolve(server))
  })

describe('getFreePort', () => {
  it('returns a TCP port that another server can bind right away', async () => {
    const port = await getFreePort()
    expect(Number.isInteger(port)).toBe(true)
    expect(port).toBeGreaterThan(0)
    expect(port).toBeLessThan(65_536)
    const server = await listen(port, '127.0.0.1')
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('has released its own throwaway server: two calls in a row both give bindable ports', async () => {
    const ports = [await getFreePort(), await getFreePort()]
    const servers = await Promise.all(ports.map((p) => listen(p, '127.0.0.1')))
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  })

  it('rejects when the host is not one of this machine’s addresses', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    await expect(getFreePort('192.0.2.1')).rejects.toThrow(/EADDRNOTAVAIL/)
  })
})
