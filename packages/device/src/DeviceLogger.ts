/**
 * Where the device package warns (connection trouble, unreadable state, failed reports). The shape is
 * pbj's `Logger.warn`, so the engine's logger (pino) can be passed as is; the device package does not
 * depend on pbj or on a logging library, since it runs on the car.
 */
export type DeviceLogger = {
  warn(message: string, fields?: Record<string, unknown>): void
}

/** The default: one line per warning on stderr (console.warn), as a car's service log expects. */
export const consoleDeviceLogger: DeviceLogger = {
  warn: (message) => console.warn(message),
}
