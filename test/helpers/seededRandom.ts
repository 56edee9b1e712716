import type { Hex } from 'viem'

/**
 * A seeded generator for differential tests: the same sequence on every run, so a failing case can be run
 * again. `random` in [0, 1), `pick` one of `xs`, `randomHex` that many random bytes.
 *
 * @example
 * const { random, pick, randomHex } = seededRandom(7)
 */
export function seededRandom(seed: number) {
  let state = seed
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state / 2_147_483_648
  }
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const randomHex = (bytes: number): Hex =>
    `0x${Array.from({ length: bytes }, () =>
      Math.floor(random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('')}`
  return { random, pick, randomHex }
}
