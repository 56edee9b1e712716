/**
 * A short, readable rendering of any value for validation messages: strings quoted, bigints as `1n`,
 * objects as JSON cut at 80 characters.
 *
 * @example
 * showValue(-1) // '-1'
 * showValue('blok') // "'blok'"
 */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  try {
    const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
    return json.length > 80 ? `${json.slice(0, 77)}...` : json
  } catch {
    return Array.isArray(value) ? 'an array' : 'an object'
  }
}
