/**
 * Base of every error the device package raises. It stands alone on purpose: the device code is deployed
 * on the car and must not depend on the `pbj` engine package. Each subclass (in `errors/`, one file per
 * family) takes typed parameters and builds its own message, so a message is written once, where its
 * class is; `instanceof DeviceError` holds for all of them.
 *
 * @example
 * throw new InvalidTopicError({ part: 'deviceId', value: 'car-1' }) // a DeviceError
 */
export class DeviceError extends Error {
  override name = 'DeviceError'
}
