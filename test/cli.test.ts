// The `pbj` command line as a user runs it: `node packages/pbj/bin/pbj.js …` in a child process, with a real
// Anvil and a real embedded broker, driven from outside with viem the way a user would drive `pbj dev`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createPublicClient, createTestClient, defineChain, http, parseAbi } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'packages/pbj/bin/pbj.js')
const lockMessage = "You missed your car payment and the vehicle is locked. Please reload your car's wallet."

// Project folders live under the repository's node_modules so that `import 'pbj'` and `@pbj/contracts` in
// their function files resolve as they do in a user's project.
const scratch = mkdtempSync(join(root, 'node_modules', '.pbj-cli-test-'))
const project = (name: string) => {
  const dir = join(scratch, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

type Line = Record<string, unknown> & { type?: string }

/** A running `pbj` process: its stdout as parsed JSON lines (or raw text), its stderr, and how it ended. */
type Cli = {
  child: ChildProcess
  pgid: number
  /** Every stdout line so far, parsed if it is JSON. */
  lines: Line[]
  raw: string[]
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves with the first line at index ≥ from that matches; fails after timeoutMs or if pbj exits. */
  waitForLine: (match: (l: Line) => boolean, what: string, from?: number, timeoutMs?: number) => Promise<Line>
}

const groups = new Set<number>()

/** Whether a process (or, for a negative id, any process of that group) is alive. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
/** Whether any process of the group (pbj, the node it re-execs, its Anvil) is still alive. */
const groupAlive = (pgid: number) => alive(-pgid)

const until = async (check: () => boolean, timeoutMs: number) => {
  const end = Date.now() + timeoutMs
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  return check()
}

/** Kills the whole process group (SIGTERM, then SIGKILL after 10 s) and waits until it is gone. */
const killGroup = async (pgid: number) => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pgid, signal)
    } catch {
      return
    }
    if (await until(() => !groupAlive(pgid), 10_000)) return
  }
}

/** Starts `pbj <args>` as a user would, in its own process group so teardown can end all of it. */
function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  })
  const pgid = child.pid as number
  groups.add(pgid)
  const lines: Line[] = []
  const raw: string[] = []
  let err = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (d: string) => {
    err += d
  })
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    raw.push(text)
    let parsed: Line
    try {
      parsed = JSON.parse(text) as Line
    } catch {
      parsed = { type: 'text', text }
    }
    lines.push(parsed)
    for (const w of waiters) w()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal })
      for (const w of waiters) w()
    }),
  )
  const waitForLine = (match: (l: Line) => boolean, what: string, from = 0, timeoutMs = 20_000) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.slice(from).find(match)
        if (found) done(() => resolve(found))
        else if (child.exitCode !== null || child.signalCode !== null)
          done(() => reject(new Error(`pbj exited before ${what}; stderr:\n${err}`)))
      }
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms; stderr:\n${err}`))),
        timeoutMs,
      )
      const done = (settle: () => void) => {
        clearTimeout(timer)
        waiters.delete(check)
        settle()
      }
      waiters.add(check)
      check()
    })
  return { child, pgid, lines, raw, stderr: () => err, exited, waitForLine }
}

/** Runs `pbj <args>` to completion (killing it after timeoutMs). */
async function runCli(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}) {
  const cli = startCli(args, env)
  const timer = setTimeout(() => void killGroup(cli.pgid), timeoutMs)
  const { code, signal } = await cli.exited
  clearTimeout(timer)
  await until(() => !groupAlive(cli.pgid), 10_000)
  return { code, signal, stdout: cli.raw, lines: cli.lines, stderr: cli.stderr() }
}

afterAll(async () => {
  await Promise.all([...groups].map(killGroup))
  rmSync(scratch, { recursive: true, force: true })
  // Nothing pbj started may outlive it: no pbj, no re-exec'd node, no Anvil.
  expect([...groups].filter(groupAlive)).toEqual([])
})

describe('pbj demo', () => {
  it('--json prints only JSON lines: the seven steps, then an ok summary with both latencies, the installments and the execution bill, and exits 0', async () => {
    const r = await runCli(['demo', '--json'])
    expect(r.stdout.length).toBeGreaterThan(5)
    const lines = r.stdout.map((l) => JSON.parse(l) as Line)
    const summary = lines.at(-1)
    // first, so that a failed scenario shows its error
    expect(summary).toEqual({
      type: 'summary',
      ok: true,
      lockLatencyMs: expect.any(Number),
      unlockLatencyMs: expect.any(Number),
      installments: expect.any(Array),
      execution: expect.any(Object),
    })
    // the summary line starts with these keys, in this order
    expect(r.stdout.at(-1)).toMatch(
      /^\{"type":"summary","ok":true,"lockLatencyMs":[\d.]+,"unlockLatencyMs":[\d.]+,/,
    )
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(summary?.lockLatencyMs).toBeGreaterThan(0)
    expect(summary?.unlockLatencyMs).toBeGreaterThan(0)

    const steps = lines.filter((l) => l.type === 'step')
    expect(steps.map((s) => s.step)).toEqual([
      'paid-on-time',
      'autopay',
      'warning',
      'final-warning',
      'before-deadline',
      'lock',
      'reload',
    ])
    const [paid, autopay, warning, finalWarning, early, lock, reload] = steps
    expect(paid).toMatchObject({ locked: false })
    expect(autopay).toMatchObject({ locked: false })
    // installment 1 by the owner's reload, installment 2 by pbj's autopay (relayer), installment 3 by the
    // reload after the lock: each in the block of the step that shows it
    const tx = expect.stringMatching(/^0x[0-9a-f]{64}$/)
    expect(summary?.installments).toEqual([
      { installment: 1, collectedBy: 'reload', tx, block: paid?.block },
      { installment: 2, collectedBy: 'autopay', tx, block: autopay?.block },
      { installment: 3, collectedBy: 'reload', tx, block: reload?.block },
    ])
    const installments = (summary?.installments ?? []) as { tx: string }[]
    expect(installments.map((i) => i.tx)).toEqual([paid?.tx, autopay?.tx, reload?.tx])
    // every run was metered and settled on ExecutionBalance: the 10 tUSD deposit minus the settled bill
    const execution = summary?.execution as Record<string, string | number>
    expect(execution).toEqual({
      runs: expect.any(Number),
      costMicros: expect.stringMatching(/^\d+$/),
      settledMicros: expect.stringMatching(/^\d+$/),
      balanceAfterMicros: expect.stringMatching(/^\d+$/),
    })
    expect(execution.runs).toBeGreaterThan(0)
    expect(BigInt(execution.costMicros as string)).toBeGreaterThan(0n)
    expect(execution.settledMicros).toBe(execution.costMicros)
    expect(BigInt(execution.balanceAfterMicros as string)).toBe(
      10_000_000n - BigInt(execution.settledMicros as string),
    )
    // the car warns before it may be disabled: at the missed due date, and finally 48 hours before the lock
    expect(warning).toMatchObject({ locked: false, message: expect.stringContaining('overdue') })
    expect(finalWarning).toMatchObject({ locked: false, message: expect.stringMatching(/^Final warning/) })
    expect(BigInt(lock?.chainTime as string) - BigInt(finalWarning?.chainTime as string)).toBe(48n * 3600n)
    expect(early).toMatchObject({ locked: false })
    expect(lock).toMatchObject({
      locked: true,
      message: lockMessage,
      latency: {
        head: expect.any(Number),
        functionStarted: expect.any(Number),
        atBroker: expect.any(Number),
        ack: expect.any(Number),
      },
    })
    expect(lock?.latency).toMatchObject({ ack: summary?.lockLatencyMs })
    expect(reload).toMatchObject({ locked: false, latency: { ack: summary?.unlockLatencyMs } })
    // the lock comes in the block right after the one a second before the deadline
    expect(BigInt(lock?.block as string)).toBe(BigInt(early?.block as string) + 1n)
    expect(BigInt(lock?.chainTime as string)).toBe(BigInt(early?.chainTime as string) + 1n)
  })

  it('prints a readable timeline with the lock message and "scenario complete"', async () => {
    const r = await runCli(['demo'])
    expect(r.code).toBe(0)
    const text = r.stdout.join('\n')
    expect(text).toContain(lockMessage)
    expect(text).toContain('scenario complete')
    expect(text).toContain('#2 by autopay')
    expect(text).toMatch(/execution: \d+ runs cost [\d.]+ tUSD/)
    expect(text).not.toContain('did not complete')
    expect(() => JSON.parse(r.stdout.find((l) => l.trim() !== '') ?? '')).toThrow()
  })
})

describe('pbj dev --json on a copy of examples/car-loan', () => {
  const dir = project('car-loan')
  cpSync(join(root, 'examples/car-loan/pbj.config.ts'), join(dir, 'pbj.config.ts'))
  cpSync(join(root, 'examples/car-loan/functions'), join(dir, 'functions'), { recursive: true })
  cpSync(join(root, 'examples/car-loan/lib'), join(dir, 'lib'), { recursive: true })
  const fnFile = (name: string) => join(dir, 'functions', name)

  let cli: Cli
  let info: Line & {
    rpcUrl: string
    chainId: number
    contracts: Record<'CarLoan' | 'DeviceRegistry' | 'TestUSD', `0x${string}`>
    devices: { deviceId: string; wallet: string; loanId: string }[]
  }
  let anvilPids: number[] = []
  let pub: ReturnType<typeof createPublicClient>
  let test: ReturnType<typeof createTestClient>
  /** Mines one block and returns its number. */
  const mine = async () => {
    await test.mine({ blocks: 1 })
    return pub.getBlockNumber({ cacheTime: 0 })
  }

  beforeAll(async () => {
    cli = startCli(['dev', '--json', '--dir', dir])
    info = (await cli.waitForLine(() => true, 'the dev line', 0, 60_000)) as typeof info
    const chain = defineChain({
      id: info.chainId,
      name: 'pbj dev',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [info.rpcUrl] } },
    })
    pub = createPublicClient({ chain, transport: http(info.rpcUrl) })
    test = createTestClient({ chain, mode: 'anvil', transport: http(info.rpcUrl) })
    anvilPids = execFileSync('pgrep', ['-g', String(cli.pgid), '-f', 'anvil-linux-amd64'])
      .toString()
      .trim()
      .split('\n')
      .map(Number)
  }, 90_000)
  afterAll(async () => cli && killGroup(cli.pgid))

  it('first prints one JSON line with everything needed to drive it', async () => {
    const hex40 = /^0x[0-9a-fA-F]{40}$/
    expect(info).toMatchObject({
      type: 'dev',
      rpcUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      wsUrl: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/),
      chainId: 31337,
      brokerUrl: expect.stringMatching(/^mqtt:\/\/127\.0\.0\.1:\d+$/),
      healthUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      contracts: {
        CarLoan: expect.stringMatching(hex40),
        DeviceRegistry: expect.stringMatching(hex40),
        TestUSD: expect.stringMatching(hex40),
      },
      devices: [
        { deviceId: expect.stringMatching(hex40), wallet: expect.stringMatching(hex40), loanId: '1' },
      ],
      functions: [
        'autopayWhenDue',
        'finalWarningBeforeLock',
        'lockOnMissedPayment',
        'unlockOnPayment',
        'warnOnMissedDueDate',
      ],
    })
    for (const who of ['lender', 'owner', 'operator']) {
      expect((info.accounts as Record<string, unknown>)[who]).toEqual({
        address: expect.stringMatching(hex40),
        privateKey: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      })
    }
    // the printed RPC really is the chain it describes, and the contracts are deployed there
    expect(await pub.getChainId()).toBe(31337)
    expect(await pub.getCode({ address: info.contracts.CarLoan })).toMatch(/^0x[0-9a-f]{10,}/)
    expect(anvilPids.length).toBe(1)
    // its health endpoints answer at the printed url
    const healthUrl = info.healthUrl as string
    expect((await fetch(`${healthUrl}/healthz`)).status).toBe(200)
    const metrics = await (await fetch(`${healthUrl}/metrics`)).text()
    expect(metrics).toMatch(/^pbj_health_check\{check="store"\} 1$/m)
  })

  it('locks the car in the block mined at the loan’s lockAt, driven with viem from outside', async () => {
    const device = info.devices[0]
    if (!device) throw new Error('no device in the dev line')
    const read = (name: 'lockAt' | 'nextDueAt' | 'finalWarningAt') =>
      pub.readContract({
        address: info.contracts.CarLoan,
        abi: parseAbi([`function ${name}(uint256 loanId) view returns (uint64)`]),
        functionName: name,
        args: [BigInt(device.loanId)],
      })
    const [dueAt, finalWarningAt, lockAt] = [
      await read('nextDueAt'),
      await read('finalWarningAt'),
      await read('lockAt'),
    ]
    // the car disables only after it has shown the warning and the final warning: the chain passes both first
    const warnedFrom = cli.lines.length
    for (const at of [dueAt, finalWarningAt]) {
      await test.setNextBlockTimestamp({ timestamp: at })
      await mine()
    }
    await cli.waitForLine(
      (l) =>
        l.type === 'device:reported' &&
        (l.state as { immobilizer?: { stage?: string } }).immobilizer?.stage === 'final-warning',
      'the final warning on the car',
      warnedFrom,
    )
    const from = cli.lines.length
    await test.setNextBlockTimestamp({ timestamp: lockAt })
    const block = await mine()
    const reported = await cli.waitForLine(
      (l) =>
        l.type === 'device:reported' &&
        l.deviceId === device.deviceId.toLowerCase() &&
        (l.state as { locked: boolean }).locked === true,
      'a locked report from the car',
      from,
    )
    expect(reported.state).toMatchObject({ locked: true, message: lockMessage })
    // the run line comes when the run ends, which may be after the car has already acknowledged
    const run = await cli.waitForLine(
      (l) => l.type === 'run' && l.functionName === 'lockOnMissedPayment',
      'the lockOnMissedPayment run',
      from,
    )
    expect(run).toMatchObject({ status: 'ok', blockNumber: String(block) })
    const desired = await cli.waitForLine((l) => l.type === 'device:desired', 'the lock command', from)
    expect(desired).toMatchObject({ blockNumber: String(block), state: { locked: true } })
  })

  it('hot-reloads a new function file and runs it on the next block', async () => {
    const from = cli.lines.length
    writeFileSync(
      fnFile('tick.ts'),
      [
        "import { defineFunction } from 'pbj'",
        '',
        'export default defineFunction({',
        "  trigger: { type: 'blocks', every: 1 },",
        '  async handler(ctx) {',
        "    ctx.log.info('tick v1 at block ' + ctx.block.number)",
        '  },',
        '})',
        '',
      ].join('\n'),
    )
    const reload = await cli.waitForLine((l) => l.type === 'reload', 'a reload line', from, 10_000)
    expect(reload).toEqual({
      type: 'reload',
      functions: expect.arrayContaining(['lockOnMissedPayment', 'unlockOnPayment', 'tick']),
      errors: [],
    })
    const at = cli.lines.length
    const block = await mine()
    const run = await cli.waitForLine(
      (l) => l.type === 'run' && l.functionName === 'tick' && l.blockNumber === String(block),
      `a tick run in block ${block}`,
      at,
    )
    expect(run.status).toBe('ok')
    expect(JSON.stringify(run.logs)).toContain(`tick v1 at block ${block}`)
  })

  it('reports a syntax error with file:line:column and keeps every other function running', async () => {
    const from = cli.lines.length
    writeFileSync(fnFile('broken.ts'), 'export default {\n  trigger: ,\n}\n')
    const reload = await cli.waitForLine(
      (l) => l.type === 'reload' && (l.errors as unknown[]).length > 0,
      'a reload line with the error',
      from,
      10_000,
    )
    const errors = reload.errors as { message: string; file?: string }[]
    expect(errors).toHaveLength(1)
    expect(errors[0]?.message).toMatch(/functions\/broken\.ts:2:\d+: /)
    expect(errors[0]?.file).toBe(fnFile('broken.ts'))
    expect([...(reload.functions as string[])].sort()).toEqual([
      'autopayWhenDue',
      'finalWarningBeforeLock',
      'lockOnMissedPayment',
      'tick',
      'unlockOnPayment',
      'warnOnMissedDueDate',
    ])
    expect(cli.stderr()).toMatch(/broken\.ts:2:\d+/)

    const at = cli.lines.length
    const block = await mine()
    const run = await cli.waitForLine(
      (l) => l.type === 'run' && l.functionName === 'tick' && l.blockNumber === String(block),
      `a tick run in block ${block} after the broken file`,
      at,
    )
    expect(run.status).toBe('ok')
  })

  it('keeps the last good version of a function whose file breaks', async () => {
    rmSync(fnFile('broken.ts'))
    const from = cli.lines.length
    writeFileSync(
      fnFile('tick.ts'),
      "import { defineFunction } from 'pbj'\nexport default defineFunction({\n  trigger: { type: 'blocks' every: 1 },\n",
    )
    const reload = await cli.waitForLine(
      (l) => l.type === 'reload' && JSON.stringify(l.errors).includes('tick.ts'),
      'a reload line with the tick.ts error',
      from,
      10_000,
    )
    expect((reload.errors as { message: string }[])[0]?.message).toMatch(/functions\/tick\.ts:3:\d+: /)
    expect(reload.functions).toContain('tick')
    const at = cli.lines.length
    const block = await mine()
    const run = await cli.waitForLine(
      (l) => l.type === 'run' && l.functionName === 'tick' && l.blockNumber === String(block),
      `a tick run (last good version) in block ${block}`,
      at,
    )
    expect(JSON.stringify(run.logs)).toContain(`tick v1 at block ${block}`)
  })

  it('exits 0 on Ctrl-C (SIGINT to its process group), and its Anvil is gone', async () => {
    expect(anvilPids.filter(alive)).toEqual(anvilPids)
    process.kill(-cli.pgid, 'SIGINT')
    const exit = await Promise.race([
      cli.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('pbj dev did not exit')), 20_000)),
    ])
    expect(exit).toEqual({ code: 0, signal: null })
    expect(await until(() => !groupAlive(cli.pgid), 5_000)).toBe(true)
    expect(anvilPids.filter(alive)).toEqual([])
  })

  it('pbj runs lists the runs of that dev session from <dir>/.pbj/dev.db', async () => {
    const [text, json, failed] = await Promise.all([
      runCli(['runs', '--dir', dir, '--limit', '100']),
      runCli(['runs', '--dir', dir, '--function', 'lockOnMissedPayment', '--json']),
      runCli(['runs', '--dir', dir, '--status', 'failed']),
    ])
    expect(text.code).toBe(0)
    const lockLines = text.stdout.filter((l) => l.includes('lockOnMissedPayment'))
    expect(lockLines.length).toBeGreaterThan(0)
    for (const l of lockLines) expect(l).toMatch(/lockOnMissedPayment\s+ok\s+\d+\.\d ms/)
    expect(text.stdout.some((l) => /tick\s+ok/.test(l))).toBe(true)

    expect(json.code).toBe(0)
    const runs = json.stdout.map((l) => JSON.parse(l) as Line)
    expect(runs.length).toBeGreaterThan(0)
    for (const r of runs) expect(r).toMatchObject({ functionName: 'lockOnMissedPayment', status: 'ok' })

    expect(failed).toMatchObject({ code: 0, stdout: [] })
  }, 120_000)
})

describe('clear errors', () => {
  it('an invalid rpcUrl in pbj.config.json: exit 3 (config refused), names rpcUrl, what was wrong and the fix', async () => {
    const dir = project('bad-rpc')
    mkdirSync(join(dir, 'functions'))
    writeFileSync(join(dir, 'pbj.config.json'), JSON.stringify({ rpcUrl: 'localhost:8545' }))
    const r = await runCli(['dev', '--dir', dir])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('pbj.config.json')
    expect(r.stderr).toMatch(/rpcUrl: rpcUrl must be a ws:\/\/, wss:\/\/, http:\/\/, https:\/\/ URL/)
    expect(r.stderr).toContain('got "localhost:8545"')
    expect(r.stderr).toMatch(/Fix: Set rpcUrl to your node, e\.g\. "ws:\/\/127\.0\.0\.1:8545"/)
  })

  it('limits.timeoutMs: -1 in pbj.config.ts: exit 3, names limits.timeoutMs and the allowed range', async () => {
    const dir = project('bad-limits')
    mkdirSync(join(dir, 'functions'))
    writeFileSync(
      join(dir, 'pbj.config.ts'),
      "import { defineConfig } from 'pbj'\n\nexport default defineConfig({ limits: { timeoutMs: -1 } })\n",
    )
    const r = await runCli(['dev', '--dir', dir])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('pbj.config.ts')
    expect(r.stderr).toMatch(/limits\.timeoutMs: .*; got -1/)
    expect(r.stderr).toContain('Fix: limits.timeoutMs is 10–300000 ms')
  })

  it('a project without functions/: exit 1 with a hint', async () => {
    const dir = project('no-functions')
    const r = await runCli(['dev', '--dir', dir])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`No functions folder at ${join(dir, 'functions')}`)
    expect(r.stderr).toMatch(/Fix: Create functions\//)
  })

  it('an unknown command: exit 2 with the usage', async () => {
    const [r, withFlag] = await Promise.all([runCli(['nope']), runCli(['nope', '--json'])])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("unknown command 'nope'")
    expect(r.stderr).toContain('Usage:')
    expect(r.stderr).toContain('pbj dev')
    expect(withFlag.code).toBe(2)
  }, 120_000)

  it('pbj car without --broker: exit 2 (usage) naming --broker', async () => {
    const r = await runCli(['car', '--device', '0x5074e83aFde263590720FC096Fd027CBA215bDE0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--broker')
    expect(r.stderr).toMatch(/Fix: .*pbj car --broker mqtt:\/\//)
  })

  it("pbj car --username: must be the car's id, with PBJ_CAR_PASSWORD", async () => {
    const key = `0x${'11'.repeat(32)}`
    const base = ['car', '--broker', 'mqtt://127.0.0.1:9', '--key', key, '--rpc', 'http://127.0.0.1:9']
    const args = [
      ...base,
      '--registry',
      `0x${'22'.repeat(20)}`,
      '--chain-id',
      '1',
      '--username',
      `0x${'33'.repeat(20)}`,
    ]
    const [other, alone] = await Promise.all([
      runCli(args, 60_000, { PBJ_CAR_PASSWORD: 'secret' }),
      runCli(args, 60_000, {}),
    ])
    expect(other.code).toBe(2)
    expect(other.stderr).toContain(`--username 0x${'33'.repeat(20)} is not the car's id`)
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain('needs both --username and PBJ_CAR_PASSWORD, or neither')
  })
})
