/**
 * Serialises a JSON value with object keys sorted at every level and no whitespace, dropping `undefined`
 * members as `JSON.stringify` does: the same value gives the same text whatever order its keys were built
 * in. A state is signed as the hash of this text, so the engine (from its store) and the car (from the
 * wire, unknown keys included) hash the same bytes, and any field added to a state later is signed too.
 *
 * @example
 * canonicalJson({ message: 'hi', locked: true }) // '{"locked":true,"message":"hi"}'
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item))).join(',')}]`
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    if (typeof record.toJSON === 'function') return canonicalJson((record.toJSON as () => unknown)())
    const members: string[] = []
    for (const key of Object.keys(record).sort()) {
      const member = record[key]
      if (member === undefined || typeof member === 'function') continue
      members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`)
    }
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
