import { afterAll, describe, expect, it } from 'vitest'
import { makeFunctionsDir, testInput } from '../../../../test/fixtures/testFunctions.js'
import { createSandbox } from './createSandbox.js'
import { loadFunction } from './loadFunction.js'
import type { HostApi } from './sandboxTypes.js'

const dir = makeFunctionsDir()
const sandbox = createSandbox()
afterAll(() => {
  sandbox.dispose()
  dir.remove()
})

const host: HostApi = async () => 1n

async function meanMicros(name: string, runs: number): Promise<number> {
  const input = testInput()
  for (let i = 0; i < 50; i++) await sandbox.run(name, input, host)
  const started = performance.now()
  for (let i = 0; i < runs; i++) {
    const result = await sandbox.run(name, input, host)
    if (!result.ok) throw result.error
  }
  return ((performance.now() - started) / runs) * 1000
}

describe('warm runs', () => {
  it('costs well under a millisecond each', async () => {
    const trivial =
      "export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler(ctx) { return ctx.block.number } })"
    await sandbox.load(await loadFunction(dir.write('trivial', trivial)))
    const busy = `export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) { ctx.log.info('block', ctx.block.number); return await ctx.kv.get('k') } })`
    await sandbox.load(await loadFunction(dir.write('busy', busy)))
    const trivialUs = await meanMicros('trivial', 2000)
    const busyUs = await meanMicros('busy', 2000)
    console.log(
      `warm run: ${trivialUs.toFixed(1)} µs mean (trivial handler), ${busyUs.toFixed(1)} µs (1 log line + 1 ctx call)`,
    )
    // Only a sanity bound: CI machines vary a lot.
    expect(trivialUs).toBeLessThan(5000)
  })
})
