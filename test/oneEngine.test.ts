// One engine per database (issue 12), with real engines: `pbj start` in two processes on one project, the
// second refused at once naming the first's pid; after kill -9 of the first a new one starts; and two
// engines in one process.
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { createEngine } from '#pbj/engine/createEngine.js'
import { StoreLockedError, StoreRefusedError } from '#pbj/internal/errors.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { exited, spawnEngine } from './faults/spawnEngine.js'
import { runPbj } from './helpers/runPbj.js'

const dir = mkdtempSync(join(tmpdir(), 'pbj-one-engine-'))
let anvil: AnvilNode
let broker: EmbeddedBroker
const children: ChildProcess[] = []
beforeAll(async () => {
  anvil = await startAnvil()
  broker = await startEmbeddedBroker()
  mkdirSync(join(dir, 'functions'))
  writeFileSync(
    join(dir, 'functions', 'tick.ts'),
    "import { defineFunction } from 'pbj'\nexport default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })\n",
  )
  writeFileSync(
    join(dir, 'pbj.config.json'),
    JSON.stringify({ rpcUrl: anvil.wsUrl, brokerUrl: broker.url, broker: broker.engineLogin }),
  )
})
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await Promise.all(children.map(exited))
  await broker?.close()
  await anvil?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** `pbj start` on the project: resolves with the process once it runs, or its output once it exited. */
function start(): Promise<{ child: ChildProcess; running: boolean; output: string }> {
  const lines: string[] = []
  return new Promise((resolve) => {
    const child = spawnEngine(dir, (line) => {
      lines.push(line)
      if (line.includes('engine running')) resolve({ child, running: true, output: lines.join('\n') })
    })
    children.push(child)
    child.once('exit', () => {
      resolve({ child, running: false, output: lines.join('\n') })
    })
  })
}

describe('one engine per database', () => {
  it('a second `pbj start` refuses at once, naming the holder; after kill -9 of the first a new one runs', async () => {
    const first = await start()
    expect(first.running).toBe(true)
    const startedAt = Date.now()
    const second = await start()
    expect(second.running).toBe(false)
    expect(second.child.exitCode).not.toBe(0)
    expect(second.output).toContain(`is in use by another engine (pid ${first.child.pid})`)
    expect(second.output).toContain('Stop the other engine, or point this one at another database')
    expect(Date.now() - startedAt).toBeLessThan(15_000)
    first.child.kill('SIGKILL')
    await exited(first.child)
    const third = await start()
    expect(third.running).toBe(true)
    third.child.kill('SIGTERM')
    await exited(third.child)
  }, 60_000)

  it('two engines in one process: the second is refused, and the first one’s stop frees the database', async () => {
    const database = join(dir, 'in-process.db')
    const options = { rpcUrl: anvil.wsUrl, brokerUrl: broker.url, database, functions: [] }
    const a = await createEngine(options)
    const error = await createEngine(options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreLockedError)
    expect(error).toBeInstanceOf(StoreRefusedError)
    expect((error as Error).message).toContain(`pid ${process.pid}`)
    await a.stop()
    const b = await createEngine(options)
    await b.stop()
  })

  it('a second `pbj dev` in a folder whose engine runs refuses before deleting its database', async () => {
    const project = mkdtempSync(join(dir, 'dev-'))
    mkdirSync(join(project, 'functions'))
    writeFileSync(join(project, 'pbj.config.json'), '{}')
    const database = join(project, '.pbj', 'dev.db')
    const running = createSqliteStore({ path: database, engine: true })
    await running.kvSet('f', 'k', '"kept"')
    const { code, stderr } = await runPbj('dev', '--dir', project)
    expect(code).not.toBe(0)
    expect(stderr).toContain(`database ${database} is in use by another engine (pid ${process.pid})`)
    expect(existsSync(database)).toBe(true)
    expect(await running.kvGet('f', 'k')).toBe('"kept"')
    await running.close()
  })
})
