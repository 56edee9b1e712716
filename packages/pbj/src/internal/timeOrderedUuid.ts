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

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')

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
  } else if (++sequence > 0xfff) {
    // More than 4,096 ids in one millisecond: borrow the next millisecond, keeping the order.
    lastMs++
    sequence = 0
  }
  if (used + 8 > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  const random = pool.subarray(used, used + 8)
  used += 8
  const ms = lastMs.toString(16).padStart(12, '0')
  const seq = (0x7000 | sequence).toString(16)
  const variant = ((random[0] as number) & 0x3f) | 0x80
  const tail = hex(random.subarray(1, 8))
  return `${ms.slice(0, 8)}-${ms.slice(8)}-${seq}-${variant.toString(16)}${tail.slice(0, 2)}-${tail.slice(2, 14)}`
}
