import type { DeviceDesired } from '../../core/device.js'
import type { Common } from '../../engine/types.js'
import type { DeviceCommandResult } from '../../function/ctx.js'
import { actionOf } from './deviceClass.js'
import { guardCommand } from './guardCommand.js'

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
 * @example
 * await commandDevice(common, '0xcar…', { locked: true, message: LOCK_MESSAGE }, `${job.id}:0`, 12n)
 */
export async function commandDevice(
  common: Common,
  deviceId: string,
  desired: DeviceDesired,
  commandId: string,
  blockNumber: bigint,
): Promise<DeviceCommandResult> {
  const id = deviceId.toLowerCase()
  const current = (await common.store.getDevice(id))?.desired ?? null
  await guardCommand(common, { deviceId: id, action: actionOf(desired), desired, current }, blockNumber)
  const result = await common.store.setDesired(id, desired, commandId, Date.now(), blockNumber)
  // Also when nothing changed: a retried run whose first attempt stored the state but crashed before the
  // publish gets it delivered; a state the broker already acknowledged is not published again.
  common.dispatcher.dispatch(id)
  return { deviceId: id, version: result.version, commandId: result.commandId, changed: result.changed }
}
