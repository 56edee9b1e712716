/**
 * True when every filter value equals the decoded arg (addresses compared case-insensitively).
 *
 * @example
 * matchesArgs({ loanId: 1n }, { loanId: 1n }) // true
 */
export function matchesArgs(
  args: Record<string, unknown>,
  filter: Record<string, unknown> | undefined,
): boolean {
  if (!filter) return true
  for (const [name, want] of Object.entries(filter)) {
    if (want === undefined) continue
    const got = args[name]
    const same =
      typeof want === 'string' && typeof got === 'string'
        ? want.toLowerCase() === got.toLowerCase()
        : typeof want === 'number' && typeof got === 'bigint'
          ? BigInt(want) === got
          : want === got
    if (!same) return false
  }
  return true
}
