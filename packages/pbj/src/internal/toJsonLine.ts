/**
 * One object as a JSON line, bigints as decimal strings.
 *
 * @example
 * process.stdout.write(toJsonLine({ type: 'block', number: 5n })) // {"type":"block","number":"5"}\n
 */
export function toJsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`
}
