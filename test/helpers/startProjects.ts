import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { type PbjProcess, startPbj } from './pbjProcess.js'

/** The repository root: `pbj` processes run from it. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** A function that logs `tick <block>` at every block. */
export const tickFunction = `import { defineFunction } from 'pbj'
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    ctx.log.info('tick ' + ctx.block.number)
  },
})
`
/** Busy for 1.5 s at every block (a run in flight when SIGTERM comes), then logs `slow <block>`. */
export const slowFunction = `import { defineFunction } from 'pbj'
export default defineFunction({
  trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    const until = Date.now() + 1500
    while (Date.now() < until) {}
    ctx.log.info('slow ' + ctx.block.number)
  },
})
`

/**
 * What tests of `pbj start` as a process share: a real Anvil and a real embedded broker (its engine login
 * fixed, for an engine in another process), project folders for them, and the `pbj start` processes, all
 * ended by `teardown`.
 *
 * @example
 * const env = createStartProjects('drain')
 * beforeAll(env.setup)
 * afterAll(env.teardown)
 * const pbj = env.start(env.project('a', {}, { 'tick.ts': tickFunction }))
 */
export function createStartProjects(name: string) {
  // Under node_modules so that `import 'pbj'` in the function files resolves as in a user's project.
  const scratch = mkdtempSync(join(repoRoot, 'node_modules', `.pbj-${name}-test-`))
  const login = { username: 'pbj-engine', password: `${name}-test-password` }
  const started: PbjProcess[] = []
  let anvil: AnvilNode | undefined
  let broker: EmbeddedBroker | undefined
  const node = () => anvil as AnvilNode
  const rpc = async (method: string, params: unknown[] = []) => {
    const response = await fetch(node().rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    return ((await response.json()) as { result: unknown }).result
  }
  return {
    async setup() {
      ;[anvil, broker] = await Promise.all([startAnvil(), startEmbeddedBroker({ engineLogin: login })])
    },
    async teardown() {
      for (const p of started) {
        p.child.kill('SIGKILL')
        p.tree.kill()
      }
      await Promise.all([anvil?.stop(), broker?.close()])
      rmSync(scratch, { recursive: true, force: true })
    },
    /** A project folder: pbj.config.json (`config` over a working default) and functions/. */
    project(dirName: string, config: Record<string, unknown>, functions: Record<string, string>) {
      const dir = join(scratch, dirName)
      mkdirSync(join(dir, 'functions'), { recursive: true })
      mkdirSync(join(dir, '.pbj'), { recursive: true })
      for (const [file, body] of Object.entries(functions)) writeFileSync(join(dir, 'functions', file), body)
      const full = {
        rpcUrl: node().wsUrl,
        brokerUrl: broker?.url,
        broker: login,
        database: join(dir, '.pbj', 'pbj.db'),
        limits: { timeoutMs: 5_000 },
        // Any free port: tests run side by side, and 9464 (the default) may be taken.
        health: { port: 0 },
        ...config,
      }
      writeFileSync(join(dir, 'pbj.config.json'), JSON.stringify(full))
      return dir
    },
    /** `pbj start --dir <dir> --json`, ended at teardown if still running. */
    start(dir: string) {
      const p = startPbj(['start', '--dir', dir, '--json'])
      started.push(p)
      return p
    },
    rpc,
    blockNumber: async () => Number(BigInt((await rpc('eth_blockNumber')) as string)),
  }
}
