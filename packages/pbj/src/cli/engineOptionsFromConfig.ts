import type { PbjConfig } from '../config/schema.js'
import type { EngineOptions } from '../engine/createEngine.js'

/**
 * The engine options that come straight from the config (broker credentials, secrets, device class, limits,
 * sandbox isolation), shared by `pbj dev` and `pbj start`; each adds what differs (chain, keys, contracts).
 *
 * @example
 * await createEngine({ rpcUrl, brokerUrl, database, functions, ...engineOptionsFromConfig(config) })
 */
export function engineOptionsFromConfig(
  config: PbjConfig,
): Pick<EngineOptions, 'broker' | 'secrets' | 'deviceClass' | 'limits' | 'sandbox'> {
  return {
    ...(config.broker ? { broker: config.broker } : {}),
    ...(config.secrets ? { secrets: config.secrets } : {}),
    ...(config.deviceClass ? { deviceClass: config.deviceClass } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
    ...(config.limits?.isolation ? { sandbox: { isolation: config.limits.isolation } } : {}),
  }
}
