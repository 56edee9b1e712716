import { DeviceTextError } from './capabilityErrors.js'

/** The longest `message` a function may put on a device's display, in characters. */
export const maxDeviceMessageChars = 160
/** The longest `reason` a device command may carry (a short code such as `missed-payment`). */
export const maxDeviceReasonChars = 64

// Control characters (C0, DEL, C1), and the bidi overrides and isolates that can make a dashboard show
// text in another order than it was written (the "Trojan Source" class).
const isUnprintable = (code: number) =>
  code <= 0x1f ||
  (code >= 0x7f && code <= 0x9f) ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069)

/**
 * Checks the free text a device command carries before anything is stored or signed: `message` (what the
 * car shows its driver) at most {@link maxDeviceMessageChars} printable characters, `reason` at most
 * {@link maxDeviceReasonChars}. A function cannot fill a dashboard with pages of text, escape codes or
 * reordered lines.
 *
 * @throws DeviceTextError (a HostCallError) naming the method, the field, what is wrong and the fix.
 * @example
 * checkDeviceText('devices.warn', { message: 'Payment due' }) // ok
 * checkDeviceText('devices.warn', { message: 'x'.repeat(500) }) // throws: 500 characters, at most 160
 */
export function checkDeviceText(method: string, options: unknown): void {
  if (options === null || typeof options !== 'object') return
  const o = options as { message?: unknown; reason?: unknown }
  for (const [field, max] of [
    ['message', maxDeviceMessageChars],
    ['reason', maxDeviceReasonChars],
  ] as const) {
    const text = o[field]
    if (text === undefined) continue
    if (typeof text !== 'string')
      throw new DeviceTextError({ method, field, problem: 'type', type: typeof text })
    const chars = [...text]
    const length = chars.length
    if (length > max) {
      throw new DeviceTextError({ method, field, problem: 'length', length, max })
    }
    const index = chars.findIndex((c) => isUnprintable(c.codePointAt(0) ?? 0))
    if (index >= 0) {
      const code = `U+${(chars[index]?.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
      throw new DeviceTextError({ method, field, problem: 'control', code, index })
    }
  }
}
