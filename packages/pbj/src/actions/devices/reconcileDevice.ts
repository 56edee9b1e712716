import { messageOf } from '@pbj/internal/messageOf.js'
import type { DeviceDesired } from '../../core/device.js'
import type { DeviceCorrection, ReconcileReason } from '../../core/deviceCorrection.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'
import { CommandRefusedError, GuardFailedError } from './CommandRefusedError.js'
import { type CommandServices, commandDevice } from './commandDevice.js'
import type { DeviceClass, GuardChain } from './deviceClass.js'

/** What reconciling one device uses: the command path's services, the correction record, and the events. */
export type ReconcileDeviceServices = CommandServices & {
  store: Pick<Store, 'getDevice' | 'setDesired' | 'deviceCorrections'>
  events: Pick<Emitter<Pick<EngineEvents, 'device:corrected'>>, 'emit'>
}

/**
 * One pass as each device sees it: the head block the chain is read at, why the pass runs, its id and time,
 * and where to note when the device's chain answer changes next (its `changesAt`, null for none).
 */
export type ReconcilePass = {
  chain: GuardChain
  reason: ReconcileReason
  id: string
  at: number
  onChangesAt?: ((deviceId: string, at: bigint | null) => void) | undefined
  /**
   * The head, when `chain` is an older (settled) block: a correction the head has already undone (it says
   * nothing, or the stored state again: a payment since) is not made; the device is re-checked at the
   * earlier of the two answers' `changesAt`.
   */
  head?: GuardChain | undefined
}

/** What became of one device: nothing to do, or the correction (recorded unless a repeated refusal). */
export type DeviceOutcome = 'same' | 'silent' | DeviceCorrection['outcome']

/** A device never commanded is taken to be in its factory state: unlocked. */
const neverCommanded: DeviceDesired = { locked: false }
const lockedOrNot = (desired: DeviceDesired) => (desired.locked ? 'locked' : 'unlocked')

/**
 * Compares one device's stored desired state with what its class says the chain wants at the pass's head
 * block, by meaning (the class's `meaningOf`: locked, a warning stage…, never the version), and when they
 * differ sends the chain's state through the normal command path (commandDevice): the guard runs at the
 * newest block, the state is stored, signed and published through the outbox. A refusal by the guard
 * stands: it is recorded (once while it repeats), never forced; so is a correction that failed (the guard
 * could not read the chain). `'silent'`: the chain says nothing about the device. A chain that cannot be
 * read for `desiredFromChain` is thrown (the pass counts it as failed); the next pass retries.
 *
 * @example
 * const outcome = await reconcileDevice(services, deviceClass, device, pass) // 'same' | 'corrected' | …
 */
export async function reconcileDevice(
  services: ReconcileDeviceServices,
  deviceClass: DeviceClass & Required<Pick<DeviceClass, 'desiredFromChain'>>,
  device: { deviceId: string; desired: DeviceDesired | null; reportedVersion: number },
  pass: ReconcilePass,
): Promise<DeviceOutcome> {
  const request = await deviceClass.desiredFromChain(device.deviceId, pass.chain)
  pass.onChangesAt?.(device.deviceId, request?.changesAt ?? null)
  if (request === null) return 'silent'
  const desired = deviceClass.toDesired(request)
  const meaningOf = deviceClass.meaningOf ?? lockedOrNot
  const from = meaningOf(device.desired ?? neverCommanded)
  const to = meaningOf(desired)
  if (from === to) return 'same'
  if (pass.head && pass.head.blockNumber !== pass.chain.blockNumber) {
    const now = await deviceClass.desiredFromChain(device.deviceId, pass.head)
    // Undone since (e.g. a payment the due date's autopay made): not made.
    if (now === null || meaningOf(deviceClass.toDesired(now)) === from) {
      const times = [request.changesAt, now?.changesAt].filter((t) => t !== undefined)
      pass.onChangesAt?.(
        device.deviceId,
        times.reduce<bigint | null>((a, t) => (a === null || t < a ? t : a), null),
      )
      return 'same'
    }
  }
  const base = {
    deviceId: device.deviceId,
    at: pass.at,
    blockNumber: pass.chain.blockNumber,
    from,
    to,
    reason: pass.reason,
  }
  try {
    const result = await commandDevice(
      services,
      device.deviceId,
      request.action,
      desired,
      `reconcile:${pass.id}:${device.deviceId}`,
      pass.chain.blockNumber,
    )
    await services.store.deviceCorrections.record({
      ...base,
      outcome: 'corrected',
      version: result.version,
      detail: null,
    })
    services.events.emit('device:corrected', {
      deviceId: device.deviceId,
      desiredVersion: result.version,
      reportedVersion: device.reportedVersion,
      reason: 'chain',
      attempt: 1,
      from,
      to,
      blockNumber: pass.chain.blockNumber,
      trigger: pass.reason,
    })
    return 'corrected'
  } catch (error) {
    // A refusal is the chain's answer; a guard that could not read the chain (GuardFailedError) or a store
    // that failed is not, and the next pass tries again. Either is recorded, once while it repeats.
    const refused = error instanceof CommandRefusedError && !(error instanceof GuardFailedError)
    const outcome = refused ? 'refused' : 'failed'
    const detail =
      error instanceof CommandRefusedError ? `${error.reason}: ${error.shortMessage}` : messageOf(error)
    const [last] = await services.store.deviceCorrections.list({ deviceId: device.deviceId, limit: 1 })
    const repeated =
      last?.outcome === outcome && last.from === from && last.to === to && last.detail === detail
    if (!repeated) await services.store.deviceCorrections.record({ ...base, outcome, version: null, detail })
    return outcome
  }
}
