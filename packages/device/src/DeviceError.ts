/**
 * Error raised by the device package. It stands alone on purpose: the device code is deployed on the car and
 * must not depend on the `pbj` engine package.
 *
 * @example
 * throw new DeviceError('deviceId must be a 0x address, got "car-1"')
 */
export class DeviceError extends Error {
  override name = 'DeviceError'
}
