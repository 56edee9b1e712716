import type { Store } from '../core/store.js'
import { KvLimitError } from '../internal/errors.js'

/** Default size limits of `ctx.kv`: one value, and all of a function's keys and values together. */
export const defaultKvLimits = { valueBytes: 64 * 1024, totalBytes: 1024 * 1024 } as const

/**
 * Serves `ctx.kv.set`: stores the value as JSON in the function's own scope, within the limits (UTF-8
 * bytes of the JSON: one value ≤ `limits.kvValueBytes`, the function's keys and values together ≤
 * `limits.kvTotalBytes`). kv lives in the engine's SQLite file next to the runs and the relayer's
 * transactions: an unbounded value would let one function bloat (or fill the disk under) all of them. A
 * write over a limit stores nothing.
 *
 * @throws KvLimitError saying the size, the limit and the fix.
 * @example
 * await setKv({ store, limits }, 'lockOnMissedPayment', 'lockSent', true)
 */
/** What setKv uses: the store's kv and the engine's kv limits. */
export type KvServices = {
  store: Pick<Store, 'kvSet'>
  limits: { kvValueBytes: number; kvTotalBytes: number }
}

export async function setKv(
  services: KvServices,
  functionName: string,
  key: string,
  value: unknown,
): Promise<void> {
  const json = JSON.stringify(value)
  const { kvValueBytes, kvTotalBytes } = services.limits
  const bytes = Buffer.byteLength(json)
  if (bytes > kvValueBytes) throw new KvLimitError({ functionName, key, bytes, limit: 'value', kvValueBytes })
  const { stored, scopeBytes } = await services.store.kvSet(functionName, key, json, kvTotalBytes)
  if (!stored) throw new KvLimitError({ functionName, key, bytes: scopeBytes, limit: 'total', kvTotalBytes })
}
