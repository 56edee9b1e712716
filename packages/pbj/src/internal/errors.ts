/**
 * pbj's errors, one file per family under `errors/`; import them from here. Every class extends
 * {@link PbjError} and builds its own message, hint and retry class.
 */
export {
  InternalError,
  PbjError,
  type PbjErrorOptions,
  PortUnreadableError,
  type RetryClass,
  retryClassOf,
  TransientError,
  UsageError,
  WaitTimeoutError,
  walk,
} from './errors/base.js'
export {
  BrokerConnectError,
  BrokerError,
  BrokerListenError,
  BrokerPublishError,
  BrokerUrlError,
  type PublishFailure,
  TopicPrefixError,
} from './errors/broker.js'
export {
  AnvilError,
  BlockNotFoundError,
  ChainConnectError,
  ChainUnreachableError,
  DeepReorgError,
  HeadSubscriptionError,
  RpcAnswerError,
  RpcError,
  RpcTimeoutError,
  TransactionRevertedError,
} from './errors/chain.js'
export {
  CarLoginError,
  InvalidFlagError,
  MissingArgumentError,
  UnknownSubcommandError,
} from './errors/cli.js'
export {
  ConfigError,
  ConfigFileError,
  ContractInterfaceError,
  ContractWithoutCodeError,
  InvalidConfigError,
  InvalidOperatorKeyError,
  MissingConfigError,
  NoCommandSignerError,
  PaymentProjectMismatchError,
  ProjectNotOpenedError,
  RpcUrlError,
  UnknownContractError,
} from './errors/config.js'
export { DemoCheckError, DemoDeployError } from './errors/demo.js'
export {
  CapabilityError,
  DuplicateFunctionError,
  FunctionBuildError,
  FunctionFailedError,
  type FunctionFailure,
  FunctionRunError,
  HostArgsError,
  HostCallError,
  ImmobilizerArgError,
  KvLimitError,
  type RunFailureReason,
  RunInputError,
  SandboxCrashedError,
  SandboxDisposedError,
  type SandboxLoss,
  SandboxLostError,
  UnknownEventError,
  UnknownFunctionError,
  UnknownGrantError,
} from './errors/function.js'
export { HealthListenError } from './errors/ops.js'
export {
  DatabaseCorruptError,
  DiskFullError,
  JobNotRetryableError,
  JobNotStartableError,
  NoDatabaseError,
  StoreLockedError,
  StoreRefusedError,
  UnknownJobError,
  WalMissingError,
} from './errors/store.js'
