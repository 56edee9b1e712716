import { randomFillSync } from 'node:crypto'

// Random bytes are drawn a page at a time: one call into the CSPRNG per 512 ids, not one per id.
//
// Written here rather than taken from the `uuid` package on purpose: uuid 14's v7 calls
// crypto.getRandomValues for every id (~6 µs each here; `randomFillSync` was 4 % of all CPU in a profile of
// `npm run bench -- --only runs`), and its only way to pass pooled bytes in (`options.random`) turns off its
// monotonic counter. With it, warm runs/s fell from 10,041–10,582 to 8,230–8,259 and CPU per run rose from
// ~126 to ~158 µs (quick runs, same idle machine, 2026-12-05); with this file they are back (BENCHMARKS.md).
const pool = new Uint8Array(4096)
let used = pool.length
let lastMs = 0
let sequence = 0
/** The id's first two groups for `lastMs`: made once per millisecond, not once per id. */
let msPrefix = ''

/** Two hex digits per byte value, looked up: no buffer, view or hex string made per id. */
const byteHex = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))
const h = (i: number) => byteHex[pool[i] as number] as string

/**
 * A UUID version 7: 48 bits of Unix milliseconds, then a 12-bit counter within the millisecond, then random
 * bits. Ids made one after the other sort in the order they were made, so rows keyed by them are appended
 * at the end of the index instead of landing on a random page each: a commit of many new runs writes a few
 * pages, not one per run.
 *
 * @example
 * timeOrderedUuid() // '019ac0b4-5f3e-7000-8a1b-…'
 */
export function timeOrderedUuid(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now
    sequence = 0
    msPrefix = ''
  } else if (++sequence > 0xfff) {
    // More than 4,096 ids in one millisecond: borrow the next millisecond, keeping the order.
    lastMs++
    sequence = 0
    msPrefix = ''
  }
  if (msPrefix === '') {
    const ms = lastMs.toString(16).padStart(12, '0')
    msPrefix = `${ms.slice(0, 8)}-${ms.slice(8)}-`
  }
  if (used + 8 > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  const r = used
  used += 8
  const seq = (0x7000 | sequence).toString(16)
  const variant = byteHex[((pool[r] as number) & 0x3f) | 0x80] as string
  return `${msPrefix}${seq}-${variant}${h(r + 1)}-${h(r + 2)}${h(r + 3)}${h(r + 4)}${h(r + 5)}${h(r + 6)}${h(r + 7)}`
}
