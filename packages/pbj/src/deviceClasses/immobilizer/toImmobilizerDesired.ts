import type { DeviceRequest } from '../../actions/devices/deviceClass.js'
import type { DeviceDesired } from '../../core/device.js'
import { defaultReasons, lockMessage } from './messages.js'
import { toDeviceImmobilizer } from './toDeviceImmobilizer.js'

/**
 * The desired state a `ctx.devices.*` call asks of a car: locked or not, the reason and message (the
 * immobilizer's defaults when the function gave none), and the immobilizer stage with the loan's terms
 * the car checks its warnings against (toDeviceImmobilizer). A warning leaves the car usable; `final`
 * makes it the final warning.
 *
 * @throws HostCallError when `lockAt`, `since` or `policy` are not what the car can check.
 * @example
 * toImmobilizerDesired({ action: 'lock', method: 'devices.lock', options: { lockAt, policy } })
 * // { locked: true, reason: 'missed-payment', message: lockMessage, immobilizer: { stage: 'disable', … } }
 */
export function toImmobilizerDesired({ action, method, options }: DeviceRequest): DeviceDesired {
  if (action === 'unlock') return { locked: false, reason: options.reason ?? defaultReasons.unlock }
  if (action === 'lock') {
    const immobilizer = toDeviceImmobilizer(method, 'disable', options)
    return {
      locked: true,
      reason: options.reason ?? defaultReasons.lock,
      message: options.message ?? lockMessage,
      ...(immobilizer ? { immobilizer } : {}),
    }
  }
  const stage = options.final ? 'final-warning' : 'warning'
  const immobilizer = toDeviceImmobilizer(method, stage, options)
  return {
    locked: false,
    reason: options.reason ?? stage,
    ...(options.message === undefined ? {} : { message: options.message }),
    ...(immobilizer ? { immobilizer } : {}),
  }
}
