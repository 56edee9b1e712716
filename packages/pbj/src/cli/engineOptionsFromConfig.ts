import type { Address } from 'viem'
import { resolveDeviceClass } from '../config/resolveDeviceClass.js'
import type { PbjConfig } from '../config/schema.js'
import type { EngineOptions } from '../engine/engineOptions.js'

/**
 * The engine options that come straight from the config (broker credentials, secrets, device class, limits,
 * sandbox isolation, reconciliation), shared by `pbj dev` and `pbj start`; each adds what differs (chain, keys). The device
 * class is the config's, or its default over the project's contracts (resolveDeviceClass).
 *
 * @example
 * await createEngine({ rpcUrl, brokerUrl, database, functions, contracts, ...engineOptionsFromConfig(config, contracts) })
 */
export function engineOptionsFromConfig(
  config: PbjConfig,
  contracts: Readonly<Record<string, Address>>,
): Pick<EngineOptions, 'broker' | 'secrets' | 'deviceClass' | 'limits' | 'sandbox' | 'reconcile'> {
  return {
    ...(config.broker ? { broker: config.broker } : {}),
    ...(config.secrets ? { secrets: config.secrets } : {}),
    deviceClass: resolveDeviceClass(config, contracts),
    ...(config.limits ? { limits: config.limits } : {}),
    ...(config.limits?.isolation ? { sandbox: { isolation: config.limits.isolation } } : {}),
    ...(config.reconcile ? { reconcile: config.reconcile } : {}),
  }
}
