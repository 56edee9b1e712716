import { join } from 'node:path'
import type { Address } from 'viem'
import { loadOperatorKey } from '../../actions/relayer/keystore.js'
import { loadConfig } from '../../config/loadConfig.js'
import { resolvePayment } from '../../config/resolvePayment.js'
import { createEngine } from '../../engine/createEngine.js'
import { MissingConfigError } from '../../internal/errors.js'
import { createLogger } from '../../internal/logger.js'
import { startHealthEndpoints } from '../../ops/startHealthEndpoints.js'
import { loadFunctions } from '../../runtime/loadFunctions.js'
import { assertStoreFree } from '../../store/sqlite/acquireStoreLock.js'
import { engineOptionsFromConfig } from '../engineOptionsFromConfig.js'
import { listenForStop } from '../listenForStop.js'
import { printEngineActivity } from '../printEngineActivity.js'

/**
 * `pbj start [--dir <project>] [--json]`: runs the engine on the project's config against your own chain
 * and broker, until SIGINT/SIGTERM. It resumes from its durable cursor: blocks mined while it was down are
 * processed, unfinished jobs re-run. SIGTERM drains (no new blocks or jobs, runs in flight finish, the
 * device outbox is flushed) and returns 0; a second one exits 1 at once (see listenForStop). A start-up
 * failure has already closed what the engine opened when it reaches here: main prints it and returns its
 * exit code (exitCodes.ts).
 *
 * @example
 * await startCommand({ dir: '.', json: false })
 */
export async function startCommand(options: { dir: string; json: boolean }): Promise<number> {
  const logger = createLogger()
  const stop = listenForStop(logger)
  const { config, file } = await loadConfig(options.dir)
  for (const field of ['rpcUrl', 'brokerUrl'] as const) {
    if (!config[field]) {
      throw new MissingConfigError({
        field,
        message: `pbj start needs ${field} in ${file ?? 'pbj.config.ts'}`,
        hint: `Set ${field} to your ${field === 'rpcUrl' ? 'node, e.g. "ws://127.0.0.1:8545"' : 'MQTT broker, e.g. "mqtt://127.0.0.1:1883"'}, or run \`pbj dev\` for an embedded chain and broker.`,
      })
    }
  }
  const { functions, errors } = await loadFunctions(config.functions ?? join(options.dir, 'functions'))
  if (errors.length > 0) throw errors[0]
  const contracts: Record<string, Address> = {}
  for (const [name, c] of Object.entries(config.contracts ?? {})) contracts[name] = c.address as Address
  // operatorKey, or operatorKeystore decrypted with PBJ_KEY_PASSPHRASE: devices and ctx.chain.write use it.
  const operatorKey = await loadOperatorKey(config)
  const database = config.database ?? join(options.dir, '.pbj', 'pbj.db')
  // A second engine on this store is refused as such (exit 4), not by the first one's health port.
  assertStoreFree(database)
  // Before the engine connects anything: a supervisor sees it alive (and not ready) while it waits.
  const endpoints = await startHealthEndpoints({ ...config.health, logger })
  const engine = await createEngine({
    rpcUrl: config.rpcUrl as string | string[],
    brokerUrl: config.brokerUrl as string,
    database,
    functions,
    contracts,
    ...engineOptionsFromConfig(config, contracts),
    ...(operatorKey ? { operatorKey } : {}),
    ...(config.chain ? { chain: config.chain } : {}),
    ...(config.payment ? { payment: resolvePayment(config, contracts) } : {}),
    logger,
    health: endpoints.health,
    ...(config.health?.readyLagBlocks === undefined ? {} : { readyLagBlocks: config.health.readyLagBlocks }),
  }).catch(async (error: unknown) => {
    await endpoints.close()
    throw error
  })
  endpoints.attach(engine)
  const stopActivity = printEngineActivity(engine, options.json)
  // A failed start has closed the engine (createEngine); the endpoints go with it, so the process can exit.
  await engine.start().catch(async (error: unknown) => {
    stopActivity()
    await endpoints.close()
    throw error
  })
  stop.running(engine.abort)
  process.stderr.write(
    `pbj: engine running on chain ${engine.chainId} with ${engine.functionNames().join(', ')}\n`,
  )
  await stop.stopped
  stopActivity()
  await engine.stop()
  await endpoints.close()
  return 0
}
