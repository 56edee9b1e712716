import { testInput } from '../../../../test/fixtures/testFunctions.js'
import type { Sandbox } from './sandboxTypes.js'

/**
 * Run 1 makes two ctx calls (the second held by the host); run 2 makes two, then fills its memory: the
 * isolate ends with both going, so the sandbox runs each again alone. Shared by the thread and process
 * sandbox tests of RunOptions.onRerun.
 */
export const rerunBody = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    const n = ctx.block.number
    if (n === 2n) {
      await ctx.kv.get('wait 2')
      await ctx.kv.get('wait2 2')
      const hog = []
      while (true) hog.push(new Array(1e5).fill(Math.random()))
    }
    await ctx.kv.get('a ' + n)
    await ctx.kv.get('b ' + n)
    return 'fine'
  },
})`

/** Runs blocks 1 and 2 of `name` together (after one run that makes them wait); what the host saw, in order. */
export async function runTheRerunScenario(sandbox: Sandbox, name: string) {
  const events: string[] = []
  let held = false
  const host = async (_method: string, args: unknown[]) => {
    const what = String(args[0])
    events.push(what)
    // The first `b 1` is never answered: run 1 is still going when run 2 ends the isolate.
    if (what === 'b 1' && !held) {
      held = true
      return new Promise<null>(() => {})
    }
    return null
  }
  const at = (number: bigint) => testInput({ block: { number, hash: '0x00', timestamp: number } })
  const first = sandbox.run(name, at(100n), host)
  const runs = [1n, 2n].map((n) =>
    sandbox.run(name, at(n), host, { onRerun: () => events.push(`rerun ${n}`) }),
  )
  await first
  return { events, results: await Promise.all(runs) }
}
