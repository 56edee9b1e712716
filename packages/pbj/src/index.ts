/**
 * pbj: chain state → TypeScript functions → devices.
 *
 * @example
 * import { defineFunction, defineConfig, createEngine } from 'pbj'
 */

export type { CommandRefusal } from './actions/devices/CommandRefusedError.js'
export { CommandRefusedError } from './actions/devices/CommandRefusedError.js'
export type {
  DeviceClass,
  DeviceCommand,
  DeviceRequest,
  GuardChain,
  GuardVerdict,
} from './actions/devices/deviceClass.js'
export type { Relayer, RelayerOptions } from './actions/relayer/createRelayer.js'
export { createRelayer } from './actions/relayer/createRelayer.js'
export type { Keystore } from './actions/relayer/keystore.js'
export { decryptKey, encryptKey, loadOperatorKey } from './actions/relayer/keystore.js'
export { KeystoreError } from './actions/relayer/keystoreErrors.js'
export { TxRefusedError } from './actions/relayer/TxRefusedError.js'
export type { RelayerEvents, SendRequest, SendResult } from './actions/relayer/types.js'
export type { Capabilities, DeviceAction, WriteGrant } from './capabilities/capabilities.js'
export { defineConfig } from './config/defineConfig.js'
export { loadConfig } from './config/loadConfig.js'
export type { PbjConfig } from './config/schema.js'
export type { Confirmation } from './core/confirmation.js'
export type { DeviceDesired, DeviceImmobilizer } from './core/device.js'
export type { EngineEvents } from './core/engineEvents.js'
export type { RelayedTx, RelayedTxStatus } from './core/relayedTx.js'
export { immobilizerClass } from './deviceClasses/immobilizer/immobilizerClass.js'
export type { Engine } from './engine/createEngine.js'
export { createEngine } from './engine/createEngine.js'
export type { EngineOptions } from './engine/engineOptions.js'
export type { BaseContext, Context } from './function/context.js'
export type {
  BlockInfo,
  DeviceCommandResult,
  DeviceView,
  ImmobilizerPolicyInput,
  WriteParams,
  WriteResult,
} from './function/ctx.js'
export type { FunctionContext, FunctionDefinition, FunctionLimits } from './function/defineFunction.js'
export { defineFunction } from './function/defineFunction.js'
export type {
  BlocksTrigger,
  ConditionTrigger,
  DeadlineTrigger,
  EventTrigger,
  ScheduleTrigger,
  Trigger,
} from './function/triggers.js'
export type { RetryClass } from './internal/errors.js'
export {
  BrokerError,
  CapabilityError,
  ConfigError,
  FunctionBuildError,
  FunctionRunError,
  InternalError,
  KvLimitError,
  PbjError,
  RpcError,
  retryClassOf,
  SandboxCrashedError,
  TransientError,
  UnknownContractError,
  UsageError,
  walk,
} from './internal/errors.js'
export type { Health, HealthCheck } from './internal/health.js'
export { createLogger, type Logger, silentLogger } from './internal/logger.js'
export type { Metrics } from './internal/metrics.js'
export { createHealthServer, type HealthServer } from './ops/createHealthServer.js'
export { instrumentEngine } from './ops/instrumentEngine.js'
export { loadFunctions } from './runtime/loadFunctions.js'
