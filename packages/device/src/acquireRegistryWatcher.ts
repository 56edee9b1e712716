import type { PublicClient } from 'viem'
import { createRegistryWatcher, type RegistryWatcher } from './createRegistryWatcher.js'
import type { DeviceLogger } from './DeviceLogger.js'

type Shared = { watcher: RegistryWatcher; users: number }
const sharedWatchers = new WeakMap<PublicClient, Map<string, Shared>>()

/**
 * A {@link RegistryWatcher} for one car: the one already following `registry` through `client` when the
 * client is shared by the cars of a process (so a thousand simulated cars cost one head subscription and at
 * most one getLogs per block with registry logs), else a watcher of its own. `release` closes it once its
 * last car is done; the first car's `pollIntervalMs` and `logger` serve all of them.
 *
 * @example
 * const { watcher, release } = acquireRegistryWatcher({ client, shared: true, registry, pollIntervalMs, logger })
 * await release()
 */
export function acquireRegistryWatcher(options: {
  client: PublicClient
  /** Whether other cars may share the client (it is not this car's own). */
  shared: boolean
  rpcUrl: string
  registry: string
  pollIntervalMs: number
  logger: DeviceLogger
}): { watcher: RegistryWatcher; release: () => Promise<void> } {
  const { client, shared } = options
  const key = options.registry.toLowerCase()
  if (!shared) {
    const watcher = createRegistryWatcher(options)
    return { watcher, release: () => watcher.close() }
  }
  let byRegistry = sharedWatchers.get(client)
  if (!byRegistry) {
    byRegistry = new Map()
    sharedWatchers.set(client, byRegistry)
  }
  const watchers = byRegistry
  let entry = watchers.get(key)
  if (!entry) {
    entry = { watcher: createRegistryWatcher(options), users: 0 }
    watchers.set(key, entry)
  }
  const acquired = entry
  acquired.users++
  let released = false
  return {
    watcher: acquired.watcher,
    async release() {
      if (released) return
      released = true
      if (--acquired.users > 0) return
      if (watchers.get(key) === acquired) watchers.delete(key)
      await acquired.watcher.close()
    },
  }
}
