/**
 * The message of anything thrown: an Error's `message`; an object's `message` when it has one (JSON-RPC error
 * objects, some libraries' rejections), else its JSON, never `[object Object]`; anything else as a string. For warnings and error
 * texts that quote a cause. viem's messages run on for many lines (request arguments, docs links, version):
 * `short` takes an error's `shortMessage` when it has one, `firstLine` keeps only the first line.
 *
 * @example
 * warn(`report not delivered: ${messageOf(cause)}`)
 * warn(`node refused ${hash}: ${messageOf(error, { firstLine: true })}`)
 */
export function messageOf(error: unknown, options: { firstLine?: boolean; short?: boolean } = {}): string {
  let message = typeof error === 'object' && error !== null ? objectMessage(error) : String(error)
  if (error instanceof Error) {
    const { shortMessage } = error as { shortMessage?: string }
    message = options.short && shortMessage !== undefined ? shortMessage : error.message
  }
  return options.firstLine ? (message.split('\n')[0] ?? '') : message
}

function objectMessage(error: object): string {
  const { message } = error as { message?: unknown }
  if (typeof message === 'string') return message
  try {
    return JSON.stringify(error, (_key, value) => (typeof value === 'bigint' ? value.toString() : value))
  } catch {
    return String(error)
  }
}
