/**
 * pbj: chain state → TypeScript functions → devices.
 *
 * @example
 * import { defineFunction, defineConfig, createEngine } from 'pbj'
 */
export { defineConfig } from './config/defineConfig.js'
export { loadConfig } from './config/loadConfig.js'
export type { PbjConfig } from './config/schema.js'
export type { Engine, EngineOptions } from './engine/createEngine.js'
export { createEngine } from './engine/createEngine.js'
export type { EngineEvents } from './engine/types.js'
export type {
  BaseContext,
  BlockInfo,
  Context,
  DeviceCommandResult,
  DeviceDesired,
  DeviceView,
} from './function/ctx.js'
export type { FunctionDefinition, FunctionLimits } from './function/defineFunction.js'
export { defineFunction } from './function/defineFunction.js'
export type {
  BlocksTrigger,
  ConditionTrigger,
  Confirmation,
  DeadlineTrigger,
  EventTrigger,
  ScheduleTrigger,
  Trigger,
} from './function/triggers.js'
export type { RetryClass } from './internal/errors.js'
export {
  BrokerError,
  ConfigError,
  FunctionBuildError,
  FunctionRunError,
  PbjError,
  RpcError,
  retryClassOf,
  SandboxCrashedError,
} from './internal/errors.js'
export { loadFunctions } from './runtime/loadFunctions.js'
