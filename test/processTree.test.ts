// No orphans: every process pbj starts goes when its parent dies, however it dies. Each case starts a real
// tree — `npm run dev`, `node packages/pbj/bin/pbj.js dev`, `pbj start` — collects every descendant from
// /proc, SIGKILLs one level (npm, the wrapper, the inner engine) and asserts that no process of the tree is
// alive 5 s later. The tree under `npm run dev`: npm → sh -c → node bin/pbj.js (wrapper) → node (engine) →
// Anvil (through setpriv's parent-death signal), esbuild's services (they watch their stdin), and with
// `limits.isolation: 'process'` the sandbox process (IPC disconnect and watchParent).
import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { pbjBin } from '#test/helpers/pbjProcess.js'
import { isAlive, type ProcessInfo, until, watchTree } from '#test/helpers/processTree.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const scratch = mkdtempSync(join(root, 'node_modules', '.pbj-process-tree-test-'))
const login = { username: 'pbj-engine', password: 'process-tree-test-password' }
const trees: ReturnType<typeof watchTree>[] = []
const roots: ChildProcess[] = []

let anvil: AnvilNode
let broker: EmbeddedBroker
beforeAll(async () => {
  ;[anvil, broker] = await Promise.all([startAnvil(), startEmbeddedBroker({ engineLogin: login })])
})
afterAll(async () => {
  for (const child of roots) child.kill('SIGKILL')
  for (const tree of trees) tree.kill()
  await Promise.all([anvil?.stop(), broker?.close()])
  rmSync(scratch, { recursive: true, force: true })
})

/** Spawns a tree root and resolves once its stdout or stderr matches `ready` (then its tree is read). */
async function startTree(command: string, args: string[], ready: RegExp, env: Record<string, string> = {}) {
  const child = spawn(command, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  })
  roots.push(child)
  const tree = watchTree(child.pid as number)
  trees.push(tree)
  let out = ''
  let err = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s; stderr:\n${err}`)), 60_000)
    const check = () => {
      if (ready.test(out) || ready.test(err)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d
      check()
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d
      check()
    })
    child.once('exit', (code) => reject(new Error(`exited ${code} before ready; stderr:\n${err}`)))
  })
  tree.look()
  return { child, tree, stderr: () => err }
}

/** The one process of the tree whose command line matches. */
const one = (seen: ProcessInfo[], match: RegExp) => {
  const found = seen.filter((p) => match.test(p.args))
  expect(found.map((p) => p.args)).toHaveLength(1)
  return found[0] as ProcessInfo
}

/**
 * SIGKILLs `victim` and asserts that within 5 s nothing of the tree (its root included) is alive. Returns
 * how long the last one took to go.
 */
async function killAndExpectNoneLeft(
  started: Awaited<ReturnType<typeof startTree>>,
  victim: number,
  signal: NodeJS.Signals = 'SIGKILL',
) {
  const { child, tree } = started
  const killedAt = Date.now()
  process.kill(victim, signal)
  const gone = await until(() => {
    tree.look()
    return !isAlive(child.pid as number) && tree.alive().length === 0
  }, 5_000)
  const left = tree.alive().map((p) => `${p.pid} ${p.args}`)
  expect({ gone, left, stderr: started.stderr().slice(-2000) }).toMatchObject({ gone: true, left: [] })
  tree.stop()
  return Date.now() - killedAt
}

/** A copy of examples/car-loan under node_modules (so `import 'pbj'` resolves), with its own dev.db. */
function carLoanCopy(name: string) {
  const dir = join(scratch, name)
  mkdirSync(dir, { recursive: true })
  for (const part of ['pbj.config.ts', 'functions', 'lib'])
    cpSync(join(root, 'examples/car-loan', part), join(dir, part), { recursive: true })
  return dir
}

/** The processes `pbj dev` runs under its inner engine, checked present before the kill. */
function expectDevTree(seen: ProcessInfo[]) {
  const wrapper = one(seen, /^\S*node (?!--no-node-snapshot)\S*pbj\.js dev/)
  const inner = one(seen, /--no-node-snapshot .*pbj\.js dev/)
  one(seen, /\/anvil --host/)
  expect(seen.filter((p) => /esbuild --service/.test(p.args)).length).toBeGreaterThan(0)
  return { wrapper, inner }
}

describe.concurrent('no process outlives its parent', () => {
  it('npm run dev: SIGKILL of npm, then SIGTERM of npm, takes the whole stack down', async () => {
    const ready = /pbj dev is running/
    const killed = await startTree('npm', ['run', 'dev'], ready)
    const seen = killed.tree.seen()
    const { wrapper } = expectDevTree(seen)
    // npm's `sh -c` stays between npm and the wrapper, waiting on it after npm is gone.
    expect(one(seen, /^sh -c /).pid).toBe(wrapper.ppid)
    const killMs = await killAndExpectNoneLeft(killed, killed.child.pid as number)

    const termed = await startTree('npm', ['run', 'dev'], ready)
    expectDevTree(termed.tree.seen())
    const termMs = await killAndExpectNoneLeft(termed, termed.child.pid as number, 'SIGTERM')
    console.log(`npm run dev: all gone ${killMs} ms after SIGKILL of npm, ${termMs} ms after SIGTERM`)
  }, 150_000)

  it('pbj dev: SIGKILL of the wrapper, then SIGKILL of the inner engine, leaves nothing', async () => {
    const ready = /"type":"dev"/
    const a = await startTree(
      process.execPath,
      [pbjBin, 'dev', '--json', '--dir', carLoanCopy('dev-a')],
      ready,
    )
    const { wrapper } = expectDevTree(a.tree.seen())
    const wrapperMs = await killAndExpectNoneLeft(a, wrapper.pid)

    const b = await startTree(
      process.execPath,
      [pbjBin, 'dev', '--json', '--dir', carLoanCopy('dev-b')],
      ready,
    )
    const { inner } = expectDevTree(b.tree.seen())
    const innerMs = await killAndExpectNoneLeft(b, inner.pid)
    console.log(`pbj dev: all gone ${wrapperMs} ms after SIGKILL of the wrapper, ${innerMs} ms of the engine`)
  }, 150_000)

  it('pbj start (process isolation): SIGKILL of the wrapper, then of the inner engine, leaves nothing', async () => {
    const project = (name: string) => {
      const dir = join(scratch, name)
      mkdirSync(join(dir, 'functions'), { recursive: true })
      writeFileSync(
        join(dir, 'functions', 'tick.ts'),
        "import { defineFunction } from 'pbj'\nexport default defineFunction({ trigger: { type: 'blocks', every: 1 }, async handler() {} })\n",
      )
      writeFileSync(
        join(dir, 'pbj.config.json'),
        JSON.stringify({
          rpcUrl: anvil.wsUrl,
          brokerUrl: broker.url,
          broker: login,
          database: join(dir, 'pbj.db'),
          limits: { isolation: 'process' },
          health: { port: 0 },
        }),
      )
      return dir
    }
    const startTreeOf = (dir: string) =>
      startTree(process.execPath, [pbjBin, 'start', '--json', '--dir', dir], /engine running/)
    const sandboxOf = (seen: ProcessInfo[]) => one(seen, /sandboxProcess\.ts/)

    const a = await startTreeOf(project('start-a'))
    let seen = a.tree.seen()
    const wrapper = one(seen, /^\S*node (?!--no-node-snapshot)\S*pbj\.js start/)
    sandboxOf(seen)
    const wrapperMs = await killAndExpectNoneLeft(a, wrapper.pid)

    const b = await startTreeOf(project('start-b'))
    seen = b.tree.seen()
    const inner = one(seen, /--no-node-snapshot .*pbj\.js start/)
    sandboxOf(seen)
    const innerMs = await killAndExpectNoneLeft(b, inner.pid)
    console.log(
      `pbj start: all gone ${wrapperMs} ms after SIGKILL of the wrapper, ${innerMs} ms of the engine`,
    )
  }, 150_000)
})
