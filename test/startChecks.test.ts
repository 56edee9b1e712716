// Start-up against the chain (issue 12): an RPC that is down when the engine starts is waited for (chain
// unready meanwhile, logged once, not per attempt), and then followed; a config whose URL cannot work is
// refused at once.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { immobilizerClass } from '#pbj/deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import {
  ConfigError,
  ContractInterfaceError,
  ContractWithoutCodeError,
  RpcError,
  RpcUrlError,
} from '#pbj/internal/errors.js'
import { getFreePort } from '#pbj/internal/freePort.js'
import { createHealth } from '#pbj/internal/health.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { recordLogs } from './helpers/recordLogs.js'
import { runPbj } from './helpers/runPbj.js'

const fns = makeFunctionsDir()
const dir = mkdtempSync(join(tmpdir(), 'pbj-start-checks-'))
let broker: EmbeddedBroker
const anvils: AnvilNode[] = []
const engines: Engine[] = []
beforeAll(async () => {
  broker = await startEmbeddedBroker()
})
afterAll(async () => {
  for (const e of engines) await e.stop()
  await broker?.close()
  for (const a of anvils) await a.stop()
  fns.remove()
  rmSync(dir, { recursive: true, force: true })
})

describe('RPC down at start', () => {
  it('waits for a node that comes up 3 s later, unready meanwhile, then processes blocks', async () => {
    const port = await getFreePort()
    const file = fns.write(
      'tick',
      `export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })`,
    )
    const health = createHealth()
    const logs = recordLogs()
    const startedAt = Date.now()
    const starting = createEngine({
      rpcUrl: `ws://127.0.0.1:${port}`,
      brokerUrl: broker.url,
      database: join(dir, 'wait.db'),
      functions: [await loadFunction(file)],
      logger: logs.logger,
      health,
    })
    await new Promise((r) => setTimeout(r, 3_000))
    const before = health.report()
    expect(before.ready).toBe(false)
    expect(before.checks.chain?.ok).toBe(false)
    expect(before.checks.chain?.detail).toContain(`ws://127.0.0.1:${port}`)
    // Logged once so far (the first failure), though it was asked many times.
    const waits = logs.warnings().filter((w) => w.includes('waiting for it'))
    expect(waits).toHaveLength(1)
    anvils.push(await startAnvil({ port }))
    const engine = await starting
    engines.push(engine)
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3_000)
    expect(health.report().checks.chain?.ok).toBe(true)
    expect(logs.records.some((r) => r.message === 'chain reachable')).toBe(true)
    const runs: EngineEvents['run'][] = []
    engine.events.on('run', (r) => runs.push(r))
    await engine.start()
    await createTestClient({ mode: 'anvil', transport: http(`http://127.0.0.1:${port}`) }).mine({ blocks: 2 })
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 })
  }, 40_000)

  it('a start-up waiting for its node gives up when aborted (SIGTERM), and frees the database', async () => {
    const port = await getFreePort()
    const stop = new AbortController()
    const options = {
      rpcUrl: `http://127.0.0.1:${port}`,
      brokerUrl: broker.url,
      database: join(dir, 'aborted.db'),
      functions: [],
    }
    const starting = createEngine({ ...options, signal: stop.signal }).catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 800))
    const abortedAt = Date.now()
    stop.abort()
    const error = await starting
    expect(Date.now() - abortedAt).toBeLessThan(1_000)
    expect(error).toBeInstanceOf(RpcError)
    expect((error as Error).message).toContain(`Cannot reach the chain at http://127.0.0.1:${port}`)
    const again = new AbortController()
    again.abort()
    // The lock was released: the next start gets as far as the chain again.
    expect(await createEngine({ ...options, signal: again.signal }).catch((e: unknown) => e)).toBeInstanceOf(
      RpcError,
    )
  })

  it('refuses a URL that cannot work at once, as a config error', async () => {
    const startedAt = Date.now()
    const error = await createEngine({
      rpcUrl: 'ftp://127.0.0.1:8545',
      brokerUrl: broker.url,
      database: join(dir, 'bad-url.db'),
      functions: [],
    }).catch((e: unknown) => e)
    expect(Date.now() - startedAt).toBeLessThan(1_000)
    expect(error).toBeInstanceOf(RpcUrlError)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toContain("rpcUrl 'ftp://127.0.0.1:8545'")
    // The store it opened first was closed again: another engine can take it.
    const again = await createEngine({
      rpcUrl: 'ftp://127.0.0.1:8545',
      brokerUrl: broker.url,
      database: join(dir, 'bad-url.db'),
      functions: [],
    }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(RpcUrlError)
  })
})

describe('contracts checked at start', () => {
  const carLoan = '0x00000000000000000000000000000000c0ffee01'
  const notALoan = '0x00000000000000000000000000000000c0ffee02'
  let anvil: AnvilNode
  beforeAll(async () => {
    anvil = await startAnvil()
    anvils.push(anvil)
    // Code, but not a CarLoan: a contract that stops at once (answers every call with no data).
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).setCode({
      address: notALoan,
      bytecode: '0x00',
    })
  })

  it('refuses an address without code, naming it, its address and the chain', async () => {
    const startedAt = Date.now()
    const error = await createEngine({
      rpcUrl: anvil.wsUrl,
      brokerUrl: broker.url,
      database: join(dir, 'no-code.db'),
      functions: [],
      contracts: { CarLoan: carLoan },
      deviceClass: immobilizerClass({ contract: 'CarLoan' }),
    }).catch((e: unknown) => e)
    expect(Date.now() - startedAt).toBeLessThan(2_000)
    expect(error).toBeInstanceOf(ContractWithoutCodeError)
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toContain(`contract CarLoan (${carLoan}) has no code on chain ${anvil.chainId}`)
    expect(message).toContain('Fix: Check contracts.CarLoan')
    expect(message).toContain('another chain')
  })

  it('refuses a device class contract that does not have its interface', async () => {
    const error = await createEngine({
      rpcUrl: anvil.wsUrl,
      brokerUrl: broker.url,
      database: join(dir, 'wrong-interface.db'),
      functions: [],
      contracts: { CarLoan: notALoan },
      deviceClass: immobilizerClass({ contract: 'CarLoan' }),
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContractInterfaceError)
    expect((error as Error).message.toLowerCase()).toContain(`contract carloan (${notALoan})`)
    expect((error as Error).message).toContain('does not answer carStatus(…)')
  })

  it('`pbj start` refuses with the message and a non-zero exit', async () => {
    const project = mkdtempSync(join(dir, 'project-'))
    mkdirSync(join(project, 'functions'))
    writeFileSync(
      join(project, 'pbj.config.json'),
      JSON.stringify({
        rpcUrl: anvil.wsUrl,
        brokerUrl: broker.url,
        contracts: { CarLoan: { address: carLoan } },
      }),
    )
    const { code, stderr } = await runPbj('start', '--dir', project)
    expect(code).not.toBe(0)
    expect(stderr).toContain(`contract CarLoan (${carLoan}) has no code on chain ${anvil.chainId}`)
  })
})
