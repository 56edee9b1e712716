import { basename, extname, resolve } from 'node:path'
import ivm from 'isolated-vm'
import type { GrantedCapabilities } from '../capabilities/capabilities.js'
import type { FunctionLimits, RetryPolicy } from '../function/defineFunction.js'
import type { Trigger } from '../function/triggers.js'
import { bundleFunction } from './bundleFunction.js'
import { evaluateBundle } from './evaluateBundle.js'
import { parseFunctionData } from './parseFunctionData.js'
import { readDefinition } from './readDefinition.js'

/** A function ready for the sandbox: its bundled code plus the trigger and limits read out of it. */
export type FunctionBundle = {
  /** The file's basename without extension: `functions/lockCar.ts` is `lockCar`. */
  name: string
  /** Absolute path of the source file. */
  file: string
  /** The bundled script (sets `__pbj_module`), with an inline source map. */
  code: string
  trigger: Trigger
  limits: FunctionLimits
  retry?: RetryPolicy
  /** What it may do besides reads, kv and logs; checked by the engine on every ctx call. */
  capabilities: GrantedCapabilities
  hasOnReorg: boolean
}

// The probe only evaluates top-level code and copies two small objects out.
const probeMemoryMb = 32
const probeTimeoutMs = 1000

/**
 * Bundles a function file and reads its trigger and limits by evaluating it in a throw-away isolate, so
 * user code never runs in the host realm; then validates them.
 *
 * @throws FunctionBuildError for syntax errors, refused imports, a missing default export or handler,
 *   and invalid triggers or limits, naming the file.
 * @example
 * const bundle = await loadFunction('functions/lockOnMissedPayment.ts')
 * bundle.trigger.type // 'deadline'
 */
export async function loadFunction(file: string): Promise<FunctionBundle> {
  const absolute = resolve(file)
  const code = await bundleFunction(absolute)
  const isolate = new ivm.Isolate({ memoryLimit: probeMemoryMb })
  try {
    const context = await isolate.createContext()
    await evaluateBundle(isolate, context, code, absolute, probeTimeoutMs)
    const { trigger, limits, retry, capabilities, hasOnReorg } = await readDefinition(context, absolute)
    const data = parseFunctionData(
      {
        trigger,
        ...(limits === undefined ? {} : { limits }),
        ...(retry === undefined ? {} : { retry }),
        ...(capabilities === undefined ? {} : { capabilities }),
      },
      absolute,
    )
    const name = basename(absolute, extname(absolute))
    return {
      name,
      file: absolute,
      code,
      trigger: data.trigger,
      limits: data.limits,
      retry: data.retry,
      capabilities: data.capabilities,
      hasOnReorg,
    }
  } finally {
    if (!isolate.isDisposed) isolate.dispose()
  }
}
