/**
 * The message of anything thrown: an Error's `message`, anything else as a string. For warnings and error
 * texts that quote a cause; `firstLine` keeps only its first line (viem's messages run on for many lines).
 *
 * @example
 * warn(`report not delivered: ${messageOf(cause)}`)
 * warn(`node refused ${hash}: ${messageOf(error, { firstLine: true })}`)
 */
export function messageOf(error: unknown, options: { firstLine?: boolean } = {}): string {
  const message = error instanceof Error ? error.message : String(error)
  return options.firstLine ? (message.split('\n')[0] ?? '') : message
}
