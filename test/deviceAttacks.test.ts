// The device group of `npm run attacks`, small: every attack on a real car (real Anvil, embedded broker)
// is refused for the reason it should meet, and the flood (500 here, 10,000 in `npm run attacks`) neither
// gets a junk command applied nor keeps the operator's lock out.
import { describe, expect, it } from 'vitest'
import { runDeviceAttacks } from '../bench/attacks/deviceAttacks.js'

describe('device attacks (real Anvil, embedded broker, real car)', () => {
  it('refuses every attack for its expected reason, in at least 14 kinds', async () => {
    const lines: string[] = []
    const results = await runDeviceAttacks((line) => lines.push(line), { floodSize: 500, fuzzCount: 100 })
    const wrong = results.filter((r) => r.gotThrough || r.unexpected || r.wrongLock || r.missedUnlock)
    expect(wrong, lines.join('\n')).toEqual([])
    expect(new Set(results.map((r) => r.kind)).size).toBeGreaterThanOrEqual(14)
  }, 120_000)
})
