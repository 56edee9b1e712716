import { existsSync, rmSync, watch } from 'node:fs'
import { join } from 'node:path'
import { startSimulatedCar } from '@pbj/device'
import { createLock } from '@pbj/internal/createLock.js'
import type { Address } from 'viem'
import { loadOperatorKey } from '../../actions/relayer/keystore.js'
import { loadConfig } from '../../config/loadConfig.js'
import { demoAccounts } from '../../demo/accounts.js'
import { startDemoStack } from '../../demo/startDemoStack.js'
import { createEngine } from '../../engine/createEngine.js'
import { MissingConfigError, PbjError } from '../../internal/errors.js'
import { createLogger } from '../../internal/logger.js'
import { toJsonLine } from '../../internal/toJsonLine.js'
import { startHealthEndpoints } from '../../ops/startHealthEndpoints.js'
import { FunctionReloadError, NoFunctionsFolderError } from '../../runtime/functionLoadErrors.js'
import { loadFunctions } from '../../runtime/loadFunctions.js'
import { assertStoreFree } from '../../store/sqlite/acquireStoreLock.js'
import { engineOptionsFromConfig } from '../engineOptionsFromConfig.js'
import { listenForStop } from '../listenForStop.js'
import { printEngineActivity } from '../printEngineActivity.js'

/**
 * `pbj dev`: Anvil with the demo contracts, a broker, the engine with the project's functions/ and one
 * simulated car; functions reload when their files change. Prints everything needed to drive it by hand.
 *
 * @example
 * await devCommand({ json: false, dir: 'examples/car-loan' })
 */
export async function devCommand(options: { json: boolean; dir: string }): Promise<number> {
  const logger = createLogger()
  const stop = listenForStop(logger)
  const { config } = await loadConfig(options.dir)
  const functionsDir = config.functions ?? join(options.dir, 'functions')
  if (!existsSync(functionsDir)) {
    throw new NoFunctionsFolderError({ dir: functionsDir })
  }
  const say = (line: string) => !options.json && process.stderr.write(`${line}\n`)
  const database = config.database ?? join(options.dir, '.pbj', 'dev.db')
  // Another engine on this database (a second `pbj dev` here) refuses before anything starts, and before
  // the fresh start below deletes the files it is using.
  assertStoreFree(database)
  if (config.rpcUrl) say('pbj dev: rpcUrl is set; using your chain and config.contracts (no demo deployment)')
  const stack = config.rpcUrl
    ? null
    : await startDemoStack({
        cars: 1,
        ...(config.brokerUrl ? { brokerUrl: config.brokerUrl } : {}),
        onProgress: (s) => say(`  ✔ ${s}`),
      })
  const brokerUrl = stack?.brokerUrl ?? config.brokerUrl
  const rpcUrl = stack ? [stack.wsUrl, stack.rpcUrl] : config.rpcUrl
  if (!brokerUrl || !rpcUrl)
    throw new MissingConfigError({
      field: 'brokerUrl',
      message: 'pbj dev with rpcUrl set also needs brokerUrl in the config',
      hint: 'Set brokerUrl (e.g. "mqtt://127.0.0.1:1883"), or remove rpcUrl to run an embedded chain and broker.',
    })
  // A fresh embedded chain shares nothing with the last one: start the store afresh too.
  if (stack) for (const f of [database, `${database}-wal`, `${database}-shm`]) rmSync(f, { force: true })

  const contracts: Record<string, Address> = { ...(stack?.deployment.contracts ?? {}) }
  for (const [name, c] of Object.entries(config.contracts ?? {})) contracts[name] = c.address as Address
  // From here a failure stops what is already up (Anvil, the broker, the engine, cars) before it is reported,
  // so that `pbj dev` exits instead of hanging on their sockets.
  const cars: { close(): Promise<void> }[] = []
  let started: { stop(): Promise<void> } | undefined
  const stoppers: (() => Promise<void>)[] = []
  const stopAll = async () => {
    for (const car of cars) await car.close().catch(() => undefined)
    await started?.stop().catch(() => undefined)
    for (const stopper of stoppers) await stopper().catch(() => undefined)
    await stack?.stop()
  }
  const initial = await loadFunctions(functionsDir).catch(async (error: unknown) => {
    await stopAll()
    throw error
  })
  for (const e of initial.errors) process.stderr.write(`${e.message}\n`)
  const operatorKey = await loadOperatorKey(config).catch(async (error: unknown) => {
    await stopAll()
    throw error
  })
  // Any free port unless the config names one: two dev stacks (or a dev stack beside pbj start) coexist.
  const endpoints = await startHealthEndpoints({ port: 0, ...config.health, logger }).catch(
    async (error: unknown) => {
      await stopAll()
      throw error
    },
  )
  stoppers.push(() => endpoints.close())
  const engine = await createEngine({
    rpcUrl,
    brokerUrl,
    database,
    functions: initial.functions,
    contracts,
    // The demo's operator is the one its cars were registered with; your own chain needs your own key.
    ...(operatorKey || stack ? { operatorKey: operatorKey ?? demoAccounts.operator.privateKey } : {}),
    ...engineOptionsFromConfig(config, contracts),
    // The embedded chain is new: follow it from its first block, so the loans opened while deploying arm
    // their lock timers (starting at the head would miss their LoanOpened events).
    ...(stack ? { chain: { startBlock: 1, ...config.chain } } : config.chain ? { chain: config.chain } : {}),
    logger,
    health: endpoints.health,
    ...(config.health?.readyLagBlocks === undefined ? {} : { readyLagBlocks: config.health.readyLagBlocks }),
  }).catch(async (error: unknown) => {
    await stopAll()
    throw error
  })
  started = engine
  endpoints.attach(engine)
  // Each car verifies commands against the demo's registry, signs its reports with its own key.
  const carChain = stack && {
    rpcUrl: stack.rpcUrl,
    chainId: stack.deployment.chainId,
    registry: stack.deployment.contracts.DeviceRegistry,
    // The car checks every lock against its own loan too, whoever signed it.
    loans: stack.deployment.contracts.CarLoan,
  }
  try {
    for (const car of stack?.cars ?? [])
      if (carChain)
        cars.push(
          await startSimulatedCar({
            brokerUrl,
            deviceKey: car.devicePrivateKey,
            chain: carChain,
            print: (line) => say(line),
            ...(config.broker?.topicPrefix ? { topicPrefix: config.broker.topicPrefix } : {}),
          }),
        )
    await engine.start()
    stop.running(engine.abort)
  } catch (error) {
    await stopAll()
    throw error
  }
  const info = {
    type: 'dev',
    rpcUrl: stack?.rpcUrl ?? [rpcUrl].flat().find((u) => u.startsWith('http')) ?? null,
    wsUrl: stack?.wsUrl ?? [rpcUrl].flat().find((u) => u.startsWith('ws')) ?? null,
    chainId: engine.chainId,
    brokerUrl,
    // The embedded broker admits only the engine and cars signing in with their keys; this is the engine's
    // login, for mosquitto_sub and the like. A dev tool: it prints the demo keys too.
    brokerLogin: stack?.brokerLogin ?? null,
    topicPrefix: config.broker?.topicPrefix ?? 'pbj',
    contracts,
    devices: (stack?.cars ?? []).map((c) => ({
      deviceId: c.deviceId,
      devicePrivateKey: c.devicePrivateKey,
      wallet: c.walletAddress,
      loanId: c.loanId,
    })),
    accounts: demoAccounts,
    functionsDir,
    functions: engine.functionNames(),
    database,
    healthUrl: endpoints.url,
  }
  if (options.json) process.stdout.write(toJsonLine(info))
  else printDevInfo(info)
  const stopActivity = printEngineActivity(engine, options.json)

  let current = initial.functions
  const reload = async () => {
    let errors: PbjError[] = []
    try {
      const next = await loadFunctions(functionsDir)
      errors = next.errors
      // A file that is still there but no longer loads keeps its last good version running rather than
      // being silently dropped; a deleted file's function goes away.
      const loaded = new Set(next.functions.map((f) => f.name))
      const kept = current.filter((f) => !loaded.has(f.name) && existsSync(f.file))
      await engine.setFunctions([...next.functions, ...kept])
      current = [...next.functions, ...kept]
    } catch (error) {
      // e.g. the folder was removed, or a trigger names an unknown contract: keep the running set.
      errors.push(error instanceof PbjError ? error : new FunctionReloadError({ cause: error }))
    }
    for (const e of errors) process.stderr.write(`${e.message}\n`)
    const functions = engine.functionNames()
    if (options.json) {
      const reported = errors.map((e) => ({
        message: e.shortMessage,
        ...(typeof e.meta.file === 'string' ? { file: e.meta.file } : {}),
        ...(e.details ? { details: e.details } : {}),
        ...(e.hint ? { hint: e.hint } : {}),
      }))
      process.stdout.write(toJsonLine({ type: 'reload', functions, errors: reported }))
    } else say(`pbj dev: functions reloaded: ${functions.join(', ') || '(none)'}`)
  }
  // Reloads run one at a time, so a slow build cannot finish after, and overwrite, a newer one.
  const reloading = createLock()
  let timer: NodeJS.Timeout | undefined
  const watcher = watch(functionsDir, () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      void reloading.run(reload)
    }, 100)
  })
  await stop.stopped
  watcher.close()
  clearTimeout(timer)
  await reloading.idle()
  stopActivity()
  await stopAll()
  return 0
}

function printDevInfo(
  info: Record<string, unknown> & {
    contracts: Record<string, string>
    devices: { deviceId: string; devicePrivateKey: string; wallet: string; loanId: bigint }[]
    brokerLogin: { username: string; password: string } | null
  },
) {
  const lines = [
    '',
    `pbj dev is running (Ctrl-C to stop)`,
    `  RPC         ${info.rpcUrl}   (WebSocket ${info.wsUrl}, chain ${info.chainId})`,
    `  broker      ${info.brokerUrl}   topics ${info.topicPrefix}/devices/<deviceId>/desired|reported`,
    ...(info.brokerLogin
      ? [
          `              login ${info.brokerLogin.username} / ${info.brokerLogin.password}  (the engine's; cars log in with their keys)`,
        ]
      : []),
    ...Object.entries(info.contracts).map(([n, a]) => `  ${n.padEnd(11)} ${a}`),
    ...info.devices.map(
      (d) =>
        `  car         ${d.deviceId}  (wallet ${d.wallet}, loan #${d.loanId}, device key ${d.devicePrivateKey})`,
    ),
    ...Object.entries(demoAccounts).map(([n, a]) => `  ${n.padEnd(11)} ${a.address}  key ${a.privateKey}`),
    `  functions   ${(info.functions as string[]).join(', ')}  (watching ${info.functionsDir})`,
    `  health      ${info.healthUrl}/healthz, /readyz, /metrics`,
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}
