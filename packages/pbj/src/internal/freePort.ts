import { createServer } from 'node:net'
import { PortUnreadableError } from './errors.js'

/**
 * Finds a TCP port that is free right now on `host`, by letting the OS pick one for a throwaway server.
 *
 * For servers that cannot bind port 0 themselves (Anvil). Another process may grab the port between this
 * call and the real bind, so callers must retry on EADDRINUSE.
 *
 * @example
 * const port = await getFreePort()
 * // spawn something on `port`; on "address in use", call getFreePort() again
 */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close(() => reject(new PortUnreadableError({ host })))
        return
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)))
    })
  })
}
