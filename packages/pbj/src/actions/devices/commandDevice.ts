import type { DeviceDesired } from '../../core/device.js'
import type { Store } from '../../core/store.js'
import type { DeviceCommandResult } from '../../function/ctx.js'
import type { DeviceDispatcher } from './createDeviceDispatcher.js'
import type { DeviceAction } from './deviceClass.js'
import { type GuardServices, guardCommand } from './guardCommand.js'

/** What commandDevice uses: the guard's services, the device records, and the dispatcher that delivers. */
export type CommandServices = GuardServices & {
  store: Pick<Store, 'getDevice' | 'setDesired'>
  dispatcher: Pick<DeviceDispatcher, 'dispatch'>
}

/**
 * Sets a device's desired state, durably, and hands its delivery to the dispatcher, which publishes it at
 * once (QoS 1, retained) or, if the broker is away, as soon as it is back. The run does not wait for the
 * broker: once the desired state is in the store the command cannot be lost, so an outage neither fails
 * nor retries the run. Idempotent by `commandId`: a retried run repeats the same command and gets the same
 * version; the device ignores versions it has already applied. Every command first passes the chain
 * ({@link guardCommand}): the device must be registered with this engine's operator, and its class's guard
 * must allow the action at the newest block; otherwise a CommandRefusedError is thrown and nothing is stored
 * or sent.
 *
 * `action` is what the function asked for (the guard judges it); `desired` is the state its device class
 * made of the call.
 *
 * @example
 * await commandDevice(services, '0xcar…', 'lock', { locked: true, message: 'Pay to drive' }, `${job.id}:0`, 12n)
 */
export async function commandDevice(
  services: CommandServices,
  deviceId: string,
  action: DeviceAction,
  desired: DeviceDesired,
  commandId: string,
  blockNumber: bigint,
): Promise<DeviceCommandResult> {
  const id = deviceId.toLowerCase()
  const current = (await services.store.getDevice(id))?.desired ?? null
  await guardCommand(services, { deviceId: id, action, desired, current }, blockNumber)
  const result = await services.store.setDesired(id, desired, commandId, Date.now(), blockNumber)
  // Also when nothing changed: a retried run whose first attempt stored the state but crashed before the
  // publish gets it delivered; a state the broker already acknowledged is not published again.
  services.dispatcher.dispatch(id)
  return { deviceId: id, version: result.version, commandId: result.commandId, changed: result.changed }
}
