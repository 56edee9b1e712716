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

const host: HostApi = async () => ({ hostValue: 1 })

// Each probe returns what it found; anything host-like (process, require, a Reference) is a failure.
const probes = `
const safe = (fn) => { try { const v = fn(); return v === undefined ? 'undefined' : typeof v === 'object' || typeof v === 'function' ? 'found:' + Object.getOwnPropertyNames(v).slice(0, 8).join(',') : String(v) } catch (e) { return 'threw:' + e.message } }
const hunt = (ctx) => ({
  process: safe(() => globalThis.process),
  globalRequire: safe(() => globalThis.require),
  // esbuild turns a bare require into its own __require, which throws "Dynamic require … is not supported"
  requireCall: safe(() => (typeof require === 'undefined' ? undefined : require)('node:fs')),
  module: safe(() => typeof module === 'undefined' ? undefined : module),
  ctxConstructor: safe(() => ctx.constructor.constructor('return typeof process')()),
  readConstructor: safe(() => ctx.chain.read.constructor('return typeof process + typeof require')()),
  functionThis: safe(() => Function('return this')() === globalThis),
  sloppyThis: safe(function () { return this === undefined || this === globalThis }),
  bridge: safe(() => globalThis.__pbj_bridge ?? globalThis.__pbj_log),
  callerOfHandler: safe(() => hunt.caller),
  globals: Object.getOwnPropertyNames(globalThis).filter((n) => !/^[A-Z]/.test(n) && !['globalThis', 'undefined', 'NaN', 'Infinity'].includes(n)).sort().join(','),
  references: Object.getOwnPropertyNames(globalThis).filter((n) => { try { const v = globalThis[n]; return v && typeof v.applySync === 'function' } catch { return false } }).join(','),
  ctxProtos: [ctx, ctx.chain, ctx.devices, ctx.kv, ctx.log, ctx.secrets, ctx.block].every((o) => Object.getPrototypeOf(o) === Object.prototype),
  ctxKeys: Object.keys(ctx).join(','),
  dynamicImport: 'pending',
  stackPaths: safe(() => { throw new Error('x') }),
  // Structured stack frames give out functions of sloppy callers; pbj's bootstrap frames must not.
  bootstrapFrames: safe(() => { Error.prepareStackTrace = (_e, s) => s; const frames = new Error().stack; Error.prepareStackTrace = undefined; return frames.filter((f) => f.getFileName() === 'pbj:bootstrap').map((f) => typeof f.getFunction()).join(',') }),
})
`

describe('sandbox escape attempts', () => {
  it('finds nothing of the host realm', async () => {
    await sandbox.load(
      await loadFunction(
        dir.write(
          'escape',
          `${probes}
export default defineFunction({ trigger: { type: 'blocks', every: 1 },
  async handler(ctx) {
    const found = hunt(ctx)
    const importer = new Function('s', 'return import(s)')
    found.dynamicImport = await importer('node:fs').then(() => 'imported', (e) => 'refused:' + e.message)
    found.hostResult = Object.getPrototypeOf(await ctx.kv.get('x')) === Object.prototype
    return found
  },
})`,
        ),
      ),
    )
    const result = await sandbox.run('escape', testInput(), host)
    if (!result.ok) throw result.error
    const found = result.value as Record<string, unknown>
    expect(found).toMatchObject({
      process: 'undefined',
      globalRequire: 'undefined',
      module: 'undefined',
      ctxConstructor: 'undefined',
      readConstructor: 'undefinedundefined',
      functionThis: 'true',
      bridge: 'undefined',
      references: '',
      ctxProtos: true,
      hostResult: true,
      ctxKeys: 'block,chainId,run,chain,devices,kv,log,secrets',
    })
    expect(found.requireCall).toMatch(/^(undefined|threw:Dynamic require of "node:fs" is not supported)$/)
    expect(found.dynamicImport).toMatch(/^refused:/)
    // Each bootstrap frame on the stack (the batch loop, the run) hides its function.
    expect(found.bootstrapFrames).toMatch(/^undefined(,undefined)*$/)
    expect(found.callerOfHandler).toMatch(/^(undefined|threw:)/)
    // Only what V8 puts in a bare context, plus the console pbj installs and the bundle's own global.
    expect(found.globals).toBe(
      [
        '__pbj_module',
        'console',
        'decodeURI',
        'decodeURIComponent',
        'encodeURI',
        'encodeURIComponent',
        'escape',
        'eval',
        'isFinite',
        'isNaN',
        'parseFloat',
        'parseInt',
        'unescape',
      ].join(','),
    )
    expect(String(found.stackPaths)).not.toContain('/node_modules/')
  })
})
