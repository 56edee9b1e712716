/**
 * Device side of pbj: the MQTT wire protocol the engine shares, the agent that runs on a car, and a
 * simulated car for demos and tests.
 *
 * @example
 * import { startSimulatedCar, LOCK_MESSAGE } from '@pbj/device'
 */
export {
  type AppliedEntry,
  createDeviceAgent,
  type DeviceAgent,
  type DeviceAgentOptions,
  type DeviceState,
} from './createDeviceAgent.js'
export { DeviceError } from './DeviceError.js'
export {
  DEFAULT_TOPIC_PREFIX,
  DesiredMessage,
  DesiredState,
  encode,
  LOCK_MESSAGE,
  type ParseResult,
  parseDesired,
  parseReported,
  ReportedMessage,
  ReportedState,
  type Topics,
  topics,
} from './protocol.js'
export { type SimulatedCarOptions, startSimulatedCar } from './simulatedCar.js'
