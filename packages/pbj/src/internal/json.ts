/**
 * JSON that keeps bigints: they are written as `{ "$bigint": "123" }` and read back as `123n`.
 * Block numbers, timestamps and token amounts are bigints, and they cross the store and the wire.
 *
 * @example
 * parseJson(stringifyJson({ n: 1n })) // { n: 1n }
 */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v))
}

/** Reads JSON written by {@link stringifyJson}. @example parseJson('{"$bigint":"5"}') // 5n */
export function parseJson<T = unknown>(text: string): T {
  return JSON.parse(text, (_key, v) => {
    if (v !== null && typeof v === 'object' && typeof v.$bigint === 'string' && Object.keys(v).length === 1) {
      return BigInt(v.$bigint)
    }
    return v
  }) as T
}
