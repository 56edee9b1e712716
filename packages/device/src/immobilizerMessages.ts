/**
 * What the car shows in the warning stage: the payment is overdue and from when the car can be disabled.
 * `lockAt` is chain time (unix seconds); null when the command did not say.
 *
 * @example
 * warningMessage(1_700_864_000, false)
 * // "Your car payment is overdue. Please reload your car's wallet: from 2023-11-24 22:13 UTC the vehicle can be disabled."
 */
export function warningMessage(lockAt: number | null, final: boolean): string {
  const when = lockAt === null ? 'soon' : `from ${utc(lockAt)}`
  return final
    ? `Final warning: your car payment is still overdue and ${when} the vehicle can be disabled. Please reload your car's wallet.`
    : `Your car payment is overdue. Please reload your car's wallet: ${when} the vehicle can be disabled.`
}

/**
 * A duration in seconds as the car states it in refusals: `9d 23h`, `47h 59m`, `2m 5s`, `30s`.
 *
 * @example
 * formatDuration(172_740) // '47h 59m'
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const days = Math.floor(s / 86_400)
  const hours = Math.floor((s % 86_400) / 3_600)
  const minutes = Math.floor((s % 3_600) / 60)
  // Below three days in hours: "48h 0m" reads as the law's 48 hours, "2d 0h" does not.
  if (days >= 3) return `${days}d ${hours}h`
  if (s >= 3_600) return `${Math.floor(s / 3_600)}h ${minutes}m`
  if (minutes > 0) return `${minutes}m ${s % 60}s`
  return `${s}s`
}

// The last one formatted: a warning's lockAt is formatted at every view of the car's state (several per
// command): 8 ms of the car's CPU over the single benchmark's ~90 commands went to formatting it again.
let formatted = { seconds: Number.NaN, text: '' }

function utc(seconds: number): string {
  if (formatted.seconds !== seconds) {
    formatted = {
      seconds,
      text: `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    }
  }
  return formatted.text
}
