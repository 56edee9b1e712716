import { messageOf } from '@pbj/internal/messageOf.js'
import type { MqttClient } from 'mqtt'
import type { CarImmobilizer } from './createCarImmobilizer.js'
import type { TypedHashes } from './createTypedHashes.js'
import type { AppliedState } from './deviceStateFile.js'
import { encode, type ReportedMessage } from './protocol.js'
import { signDigest } from './recoverSigner.js'

/**
 * How a car tells the engine what it did: signed, retained reports on its reported topic. See
 * {@link createDeviceReporter}.
 *
 * @example
 * reporter.report(applied)
 * reporter.refused('signature does not recover to an operator of this car')
 */
export type DeviceReporter = {
  /** Reports `applied` (and `error`, if the command failed to apply as asked). Never waits for the broker. */
  report(applied: AppliedState, error?: string): void
  /** Reports a refusal under the current state, rate-limited: a burst of 5, then one a second. */
  refused(reason: string): void
  /** Stops the refusal refill timer. */
  close(): void
}

// Refusals the car reports to the engine: a burst of 5, then one a second. A flood of forged commands
// must not make the car flood the broker with signed reports (each also costs the car a signature).
const REFUSAL_REPORTS = { burst: 5, perMs: 1_000 }

/**
 * Creates a car's reporter. Each report is signed with the car's own key, so the engine counts only
 * reports that recover to this car's id; with an immobilizer, it carries the immobilizer's report too.
 *
 * @example
 * const reporter = createDeviceReporter({ client, deviceId, deviceKey, hashes, topic, immobilizer: null, current: () => current, isClosed: () => closed, warn })
 */
export function createDeviceReporter(options: {
  client: MqttClient
  deviceId: string
  deviceKey: string
  hashes: TypedHashes
  /** The car's reported topic. */
  topic: string
  immobilizer: CarImmobilizer | null
  /** The state a refusal is reported under, read when the report goes out. */
  current: () => AppliedState
  isClosed: () => boolean
  warn: (message: string) => void
}): DeviceReporter {
  const { client, deviceId, immobilizer, warn } = options

  const report = (applied: AppliedState, error?: string): void => {
    const unsigned: Omit<ReportedMessage, 'signature'> = {
      type: 'reported',
      deviceId,
      version: applied.version,
      commandId: applied.commandId,
      state: {
        locked: applied.locked,
        ...(applied.message === undefined ? {} : { message: applied.message }),
        ...(immobilizer ? { immobilizer: immobilizer.report() } : {}),
      },
      appliedAt: applied.appliedAt,
      ...(error === undefined ? {} : { error }),
    }
    const message: ReportedMessage = {
      ...unsigned,
      signature: signDigest(options.hashes.reportDigest(unsigned), options.deviceKey),
    }
    // Not awaited: mqtt.js keeps publish order, and an offline car must not stall on PUBACK.
    client.publishAsync(options.topic, encode(message), { qos: 1, retain: true }).catch((cause: unknown) => {
      if (!options.isClosed())
        warn(`car ${deviceId}: report v${applied.version} not delivered: ${messageOf(cause)}`)
    })
  }

  // The last of a burst is held, not lost: the engine hears the latest refusal within a second.
  let tokens = REFUSAL_REPORTS.burst
  let refill: NodeJS.Timeout | undefined
  let held: string | undefined
  const refused = (reason: string) => {
    if (tokens > 0) {
      tokens--
      report(options.current(), reason)
    } else held = reason
    refill ??= setInterval(() => {
      if (held !== undefined && !options.isClosed()) report(options.current(), held)
      else if (tokens < REFUSAL_REPORTS.burst) tokens++
      else {
        clearInterval(refill)
        refill = undefined
      }
      held = undefined
    }, REFUSAL_REPORTS.perMs)
    refill.unref()
  }

  return { report, refused, close: () => clearInterval(refill) }
}
