import { type DesiredState, encode, LOCK_MESSAGE, type PbjDomain } from '@pbj/device'
import { generatePrivateKey } from 'viem/accounts'
import { createCommandSigner } from '#pbj/actions/devices/createCommandSigner.js'

/**
 * Validly signed junk, as anyone with broker access can make it: `count` lock commands for one car, each
 * signed by a fresh random key (so no cache knows the signer), with a `chainTime` far in the future (so each
 * would ask the car to catch up with the registry) and a version above anything applied. Encoded, ready to
 * publish. For the flood tests and `npm run bench:flood`.
 *
 * @example
 * const flood = signFlood({ domain: registry.domain, deviceId: car.deviceId, count: 2_000 })
 * for (const payload of flood) void attacker.publishAsync(topic, payload, { qos: 1 })
 */
export function signFlood(options: {
  domain: PbjDomain
  deviceId: string
  count: number
  /** Default 1,000,000: above any version a test car reaches. */
  version?: number
  state?: DesiredState
}): Buffer[] {
  const state = options.state ?? { locked: true, reason: 'missed-payment', message: LOCK_MESSAGE }
  // 2^40 s: a block no chain has reached.
  const chainTime = 2 ** 40
  return Array.from({ length: options.count }, (_, i) => {
    const signer = createCommandSigner({ operatorKey: generatePrivateKey(), domain: options.domain })
    const [message] = signer.sign([
      {
        deviceId: options.deviceId.toLowerCase(),
        version: (options.version ?? 1_000_000) + i,
        commandId: `flood-${i}`,
        state,
        chainTime,
      },
    ])
    return Buffer.from(encode(message as NonNullable<typeof message>))
  })
}
