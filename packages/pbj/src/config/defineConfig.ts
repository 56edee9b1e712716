import type { PbjConfig } from './schema.js'

/**
 * Declares a pbj config with type checking. Identity at run time.
 *
 * @example
 * // pbj.config.ts
 * import { defineConfig } from 'pbj'
 * export default defineConfig({ rpcUrl: 'ws://127.0.0.1:8545', limits: { timeoutMs: 2000 } })
 */
export function defineConfig<const config extends PbjConfig>(config: config): config {
  return config
}
