/**
 * Device side of pbj: the MQTT wire protocol the engine shares, the agent that runs on a car, and a
 * simulated car for demos and tests.
 *
 * @example
 * import { startSimulatedCar, LOCK_MESSAGE } from '@pbj/device'
 */

export { bloomBits, bloomMayContain } from './bloomMayContain.js'
export { buildMerkleTree, type MerkleTree, merkleRoot } from './buildMerkleTree.js'
export { canonicalJson } from './canonicalJson.js'
export {
  type CarImmobilizer,
  type CarImmobilizerOptions,
  createCarImmobilizer,
  type ImmobilizerResult,
} from './createCarImmobilizer.js'
export {
  type AppliedView,
  type CommandGate,
  createCommandGate,
  type DeviceChainOptions,
  type GateVerdict,
} from './createCommandGate.js'
export {
  type AppliedEntry,
  createDeviceAgent,
  type DeviceAgent,
  type DeviceAgentOptions,
  type DeviceState,
} from './createDeviceAgent.js'
export {
  type CommandPlace,
  createOperatorCheck,
  type OperatorAnswer,
  type OperatorCheck,
  type OperatorCheckOptions,
} from './createOperatorCheck.js'
export {
  type CommandFields,
  createTypedHashes,
  type ReportFields,
  stateHash,
  type TypedHashes,
} from './createTypedHashes.js'
export { DeviceError } from './DeviceError.js'
export { consoleDeviceLogger, type DeviceLogger } from './DeviceLogger.js'
export { dashboardLine } from './dashboardLine.js'
export { DEVICE_LOGIN_WINDOW_S, deviceLogin, deviceLoginText, verifyDeviceLogin } from './deviceLogin.js'
export {
  AgentClosedError,
  BrokerRefusedError,
  InvalidUrlError,
  RegistryReadError,
} from './errors/connection.js'
export {
  DeviceKeyError,
  InvalidDigestError,
  InvalidPrivateKeyError,
  NativeSecp256k1Error,
} from './errors/keys.js'
export { InvalidLimitsError, InvalidTopicError, StateFileError } from './errors/options.js'
export { InvalidDomainError, InvalidFieldError, MerkleTreeError } from './errors/typedData.js'
export {
  type Delinquency,
  type DisableState,
  type ImmobilizerInput,
  type ImmobilizerState,
  type ImmobilizerStep,
  type ImmobilizerView,
  initialImmobilizerState,
  stepImmobilizer,
  viewImmobilizer,
} from './immobilizer.js'
export { formatDuration, warningMessage } from './immobilizerMessages.js'
export {
  ImmobilizerCommand,
  ImmobilizerPolicy,
  ImmobilizerReport,
  ImmobilizerStage,
} from './immobilizerProtocol.js'
export { keccak256 } from './keccak256.js'
export { type PbjDomain, pbjDomain, pbjTypes } from './pbjDomain.js'
export {
  CommandAuth,
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
  type UnsignedCommand,
} from './protocol.js'
export {
  addressOf,
  prepareSignerKey,
  recoverSigner,
  recoverSignerKey,
  type SignerKey,
  signDigest,
  verifySignerKey,
} from './recoverSigner.js'
export { secp256k1, secp256k1Backend } from './secp256k1.js'
export type { PreparedKey, Secp256k1, Secp256k1Backend } from './secp256k1Types.js'
export { type SimulatedCarOptions, startSimulatedCar } from './simulatedCar.js'
export {
  type AtomicType,
  type StructData,
  type StructField,
  structHasher,
  typedDataDigest,
} from './structHasher.js'
export { type Refusal, type RefusalCode, verifyDesired } from './verifyDesired.js'
