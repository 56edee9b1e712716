import type { Common } from '../../engine/types.js'
import type { DeviceCommandResult, DeviceDesired } from '../../function/ctx.js'
import { now } from '../../internal/now.js'

/**
 * Sets a device's desired state and publishes it (QoS 1, retained) so the device gets it now or when it
 * reconnects. Idempotent by `commandId`: a retried run repeats the same command and gets the same version;
 * the device ignores versions it has already applied.
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
  const result = await common.store.setDesired(id, desired, commandId, Date.now())
  const device = await common.store.getDevice(id)
  const needsPublish = result.changed || (device !== null && device.reportedVersion < result.version)
  if (needsPublish && device?.desired) {
    await common.broker.publishDesired({
      type: 'desired',
      deviceId: id,
      version: device.desiredVersion,
      commandId: device.commandId ?? commandId,
      state: device.desired,
      issuedAt: Date.now(),
    })
    common.events.emit('device:desired', {
      deviceId: id,
      version: device.desiredVersion,
      commandId: device.commandId ?? commandId,
      state: device.desired,
      publishedAt: now(),
      blockNumber,
    })
  }
  return { deviceId: id, version: result.version, commandId: result.commandId, changed: result.changed }
}
