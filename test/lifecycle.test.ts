// `pbj start` as a supervisor runs it: the real binary (wrapper → engine), a real Anvil, a real broker, a
// real SQLite file. A start-up failure exits with its code from the table (cli/exitCodes.ts), the error and
// its hint on stderr, within 1 s of the failure, leaving no process behind; SIGTERM drains and exits 0; a
// second SIGTERM exits 1 at once and the run it cut short runs again at the next start.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { getFreePort } from '#pbj/internal/freePort.js'
import { type PbjProcess, pbjBin, startPbj } from '#test/helpers/pbjProcess.js'
import { isAlive, until } from '#test/helpers/processTree.js'
import { runPbj } from '#test/helpers/runPbj.js'

const root = fileURLToPath(new URL('..', import.meta.url))
// Under node_modules so that `import 'pbj'` in the function files resolves as in a user's project.
const scratch = mkdtempSync(join(root, 'node_modules', '.pbj-lifecycle-test-'))
const login = { username: 'pbj-engine', password: 'lifecycle-test-password' }

let anvil: AnvilNode
let broker: EmbeddedBroker
const started: PbjProcess[] = []

beforeAll(async () => {
  ;[anvil, broker] = await Promise.all([startAnvil(), startEmbeddedBroker({ engineLogin: login })])
})

afterAll(async () => {
  for (const p of started) {
    p.child.kill('SIGKILL')
    p.tree.kill()
  }
  await Promise.all([anvil?.stop(), broker?.close()])
  rmSync(scratch, { recursive: true, force: true })
})

const tick = `import { defineFunction } from 'pbj'
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    ctx.log.info('tick ' + ctx.block.number)
  },
})
`
/** Busy for 1.5 s (a run in flight when SIGTERM comes), then logs its block. */
const slow = `import { defineFunction } from 'pbj'
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    const until = Date.now() + 1500
    while (Date.now() < until) {}
    ctx.log.info('slow ' + ctx.block.number)
  },
})
`

/** A project folder: pbj.config.json (`config` over a working default) and functions/. */
function project(name: string, config: Record<string, unknown>, functions: Record<string, string>) {
  const dir = join(scratch, name)
  mkdirSync(join(dir, 'functions'), { recursive: true })
  mkdirSync(join(dir, '.pbj'), { recursive: true })
  for (const [file, body] of Object.entries(functions)) writeFileSync(join(dir, 'functions', file), body)
  const full = {
    rpcUrl: anvil.wsUrl,
    brokerUrl: broker.url,
    broker: login,
    database: join(dir, '.pbj', 'pbj.db'),
    limits: { timeoutMs: 5_000 },
    ...config,
  }
  writeFileSync(join(dir, 'pbj.config.json'), JSON.stringify(full))
  return dir
}

const start = (dir: string) => {
  const p = startPbj(['start', '--dir', dir, '--json'])
  started.push(p)
  return p
}

const rpc = async (method: string, params: unknown[] = []) => {
  const response = await fetch(anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  return ((await response.json()) as { result: unknown }).result
}
const blockNumber = async () => Number(BigInt((await rpc('eth_blockNumber')) as string))

/**
 * Runs `pbj start` on a project that cannot start and checks the contract: the code, the message and its
 * fix on stderr, the exit within 1 s of the error being printed, and no process of its tree left.
 */
async function refusedStart(dir: string, expected: { code: number; texts: string[] }) {
  const spawnedAt = Date.now()
  const pbj = start(dir)
  const { code, signal, at } = await pbj.exited
  pbj.tree.look()
  const stderr = pbj.stderr()
  expect({ code, signal, stderr }).toMatchObject({ code: expected.code, signal: null })
  for (const text of expected.texts) expect(stderr).toContain(text)
  // The failure point: the error line, printed once everything is closed.
  const printed = pbj.firstSeen('pbj start: ') as number
  expect(printed).toBeGreaterThanOrEqual(spawnedAt)
  const latency = at - printed
  expect(latency, stderr).toBeLessThan(1_000)
  // Whatever it started (the inner node, esbuild, a sandbox process) is gone with it.
  await new Promise((r) => setTimeout(r, 300))
  expect(pbj.tree.alive().map((p) => p.args)).toEqual([])
  pbj.tree.stop()
  return { latency, total: at - spawnedAt }
}

// Concurrent: each waits on a start-up of its own (the broker one on a 5 s connect timeout).
describe.concurrent('pbj start: a start-up failure exits with its code, its message and hint, within 1 s, leaving nothing', () => {
  it('the broker unreachable after the chain connected: exit 5', async () => {
    const port = await getFreePort()
    const dir = project('broker-down', { brokerUrl: `mqtt://127.0.0.1:${port}` }, { 'tick.ts': tick })
    const { latency } = await refusedStart(dir, {
      code: 5,
      texts: [`cannot connect to MQTT broker at mqtt://127.0.0.1:${port}`, 'Fix: Start the broker'],
    })
    console.log(`broker down: exit ${latency} ms after the error`)
  }, 90_000)

  it('the database path is a text file: exit 4 (store refused)', async () => {
    const dir = project('not-a-database', {}, { 'tick.ts': tick })
    writeFileSync(join(dir, '.pbj', 'pbj.db'), 'not a database\n'.repeat(500))
    const { latency } = await refusedStart(dir, { code: 4, texts: ['file is not a database'] })
    console.log(`not a database: exit ${latency} ms after the error`)
  }, 90_000)

  it('a trigger naming an unknown contract, in process isolation: exit 3 (config refused)', async () => {
    const unknown = `import { defineFunction } from 'pbj'
import { carLoanAbi } from '@pbj/contracts'
export default defineFunction({
  trigger: { type: 'event', contract: 'NoSuchLoan', abi: carLoanAbi, event: 'InstallmentPaid' },
  async handler() {},
})
`
    const dir = project(
      'unknown-contract',
      { limits: { timeoutMs: 5_000, isolation: 'process' } },
      { 'tick.ts': tick, 'unknown.ts': unknown },
    )
    const { latency } = await refusedStart(dir, {
      code: 3,
      texts: ["'NoSuchLoan' is not a known contract", 'Fix: Add NoSuchLoan'],
    })
    console.log(`unknown contract: exit ${latency} ms after the error`)
  }, 90_000)
})

/** The `slow` runs recorded in the project's store, by the block each logged. */
async function slowRuns(dir: string) {
  const { code, stdout } = await runPbj(
    'runs',
    '--dir',
    dir,
    '--json',
    '--function',
    'slow',
    '--limit',
    '100',
  )
  expect(code).toBe(0)
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { status: string; logs: { message: string }[] })
    .map((run) => ({
      status: run.status,
      block: run.logs.map((l) => l.message).find((m) => m.startsWith('slow ')),
    }))
}

describe('pbj start: SIGTERM drains', () => {
  it('SIGTERM while a slow run is in flight: the run finishes, recorded ok, and pbj exits 0', async () => {
    const dir = project('drain', {}, { 'slow.ts': slow })
    const pbj = start(dir)
    await pbj.waitForStderr('engine running')
    await rpc('evm_mine')
    const mined = await blockNumber()
    // The run has started (it takes 1.5 s) when the signal comes.
    await new Promise((r) => setTimeout(r, 500))
    const signalledAt = Date.now()
    pbj.child.kill('SIGTERM')
    const { code, signal, at } = await pbj.exited
    expect({ code, signal, stderr: pbj.stderr() }).toMatchObject({ code: 0, signal: null })
    expect(pbj.stderr()).toContain('SIGTERM: stopping')
    console.log(`drain: exit 0 ${at - signalledAt} ms after SIGTERM`)
    await new Promise((r) => setTimeout(r, 300))
    expect(pbj.tree.alive().map((p) => p.args)).toEqual([])
    const runs = await slowRuns(dir)
    expect(runs.filter((r) => r.block === `slow ${mined}`)).toEqual([
      { status: 'ok', block: `slow ${mined}` },
    ])
    expect(runs.filter((r) => r.status !== 'ok')).toEqual([])
  }, 60_000)

  it('a second SIGTERM while draining exits 1 at once; the cut-short run runs again at the next start, once', async () => {
    const dir = project('second-signal', {}, { 'slow.ts': slow })
    const first = start(dir)
    await first.waitForStderr('engine running')
    await rpc('evm_mine')
    const mined = await blockNumber()
    await new Promise((r) => setTimeout(r, 300))
    first.child.kill('SIGTERM')
    await first.waitForStderr('SIGTERM: stopping', 5_000)
    // Past the window in which a repeated signal counts as the same stop (Ctrl-C reaching both processes).
    await new Promise((r) => setTimeout(r, 400))
    const againAt = Date.now()
    first.child.kill('SIGTERM')
    const { code, at, signal } = await first.exited
    expect({ code, signal, stderr: first.stderr() }).toMatchObject({ code: 1, signal: null })
    expect(first.stderr()).toContain('SIGTERM again while stopping: exiting now')
    expect(at - againAt).toBeLessThan(1_000)
    await new Promise((r) => setTimeout(r, 300))
    expect(first.tree.alive().map((p) => p.args)).toEqual([])
    expect((await slowRuns(dir)).filter((r) => r.status === 'ok')).toEqual([])

    // The next start re-runs the job it left unfinished: one ok run for that block.
    const second = start(dir)
    await second.waitForStderr('engine running')
    const deadline = Date.now() + 20_000
    let runs = await slowRuns(dir)
    while (Date.now() < deadline && !runs.some((r) => r.status === 'ok' && r.block === `slow ${mined}`)) {
      await new Promise((r) => setTimeout(r, 250))
      runs = await slowRuns(dir)
    }
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
    runs = await slowRuns(dir)
    expect(runs.filter((r) => r.status === 'ok' && r.block === `slow ${mined}`)).toHaveLength(1)
  }, 60_000)
})

describe('pbj start is a daemon', () => {
  it('keeps running when the shell that launched it in the background exits; SIGTERM still drains it', async () => {
    const dir = project('daemon', {}, { 'tick.ts': tick })
    const log = join(dir, 'pbj.log')
    // `sh -c '… &'` returns at once: the wrapper is re-parented, as under `nohup pbj start &`.
    const pid = Number(
      execFileSync(
        'sh',
        ['-c', `"${process.execPath}" "${pbjBin}" start --dir "${dir}" >"${log}" 2>&1 & echo $!`],
        {
          cwd: root,
          encoding: 'utf8',
        },
      ).trim(),
    )
    try {
      const text = () => readFileSync(log, 'utf8')
      expect(await until(() => text().includes('engine running'), 60_000)).toBe(true)
      // Several polls of watchParent later, it still runs.
      await new Promise((r) => setTimeout(r, 1_500))
      expect(isAlive(pid)).toBe(true)
      expect(text()).not.toContain('parent process is gone')
      process.kill(pid, 'SIGTERM')
      expect(await until(() => !isAlive(pid), 10_000)).toBe(true)
      expect(text()).toContain('SIGTERM: stopping')
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    }
  }, 90_000)
})
