import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoProjectDir } from '#pbj/demo/runDemo.js'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import type { EngineOptions } from '#pbj/engine/engineOptions.js'
import { loadFunctions } from '#pbj/runtime/loadFunctions.js'

/**
 * Starts pbj as the demo runs it — the example project's car-loan functions, signed commands, the device
 * guard, a SQLite file — on a benchmark's stack, reading the chain from `startBlock`. `functions` picks
 * some of the example's functions (default: all of them).
 *
 * @example
 * const { engine, stop } = await startBenchEngine(stack, { startBlock: 0n, topicPrefix: 'bench' })
 */
export async function startBenchEngine(
  stack: DemoStack,
  options: {
    startBlock: bigint
    topicPrefix: string
    functions?: readonly string[]
    extra?: Partial<EngineOptions>
  },
): Promise<{ engine: Engine; stop: () => Promise<void> }> {
  const { functions, errors } = await loadFunctions(join(demoProjectDir, 'functions'))
  if (errors.length > 0) throw errors[0]
  const picked = options.functions ? functions.filter((f) => options.functions?.includes(f.name)) : functions
  const dir = mkdtempSync(join(tmpdir(), 'pbj-bench-'))
  const engine = await createEngine({
    rpcUrl: [stack.wsUrl, stack.rpcUrl],
    brokerUrl: stack.brokerUrl,
    broker: { topicPrefix: options.topicPrefix },
    database: join(dir, 'pbj.db'),
    functions: picked,
    contracts: stack.deployment.contracts,
    deviceClass: immobilizerClass({ contract: 'CarLoan' }),
    operatorKey: stack.deployment.accounts.operator.privateKey,
    chain: { startBlock: Number(options.startBlock) },
    ...options.extra,
  })
  await engine.start()
  return {
    engine,
    stop: async () => {
      await engine.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
