import type { ImmobilizerReport } from '@pbj/device'
import type { Address } from 'viem'
import type { BrokerConnection } from '../actions/broker/types.js'
import type { DeviceDispatcher } from '../actions/devices/createDeviceDispatcher.js'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import type { Relayer } from '../actions/relayer/createRelayer.js'
import type { ChainConnection } from '../chain/types.js'
import type { DeviceDesired } from '../function/ctx.js'
import type { Emitter } from '../internal/createEmitter.js'
import type { Logger } from '../internal/logger.js'
import type { PaymentMeter } from '../payment/createPaymentMeter.js'
import type { Queue } from '../queue/types.js'
import type { Sandbox } from '../runtime/createSandbox.js'
import type { FunctionBundle } from '../runtime/loadFunction.js'
import type { Run, Store } from '../store/types.js'
import type { TriggerIndex } from '../triggers/createTriggerIndex.js'

/** What the engine tells its listeners (the CLI, the demo, tests). */
export type EngineEvents = {
  block: {
    number: bigint
    hash: string
    timestamp: bigint
    jobs: number
    receivedAt: number
    committedAt: number
  }
  run: {
    run: Run
    jobId: string
    blockNumber: bigint
    /** When the sandbox started the handler. */
    startedAt: number
  }
  'device:desired': {
    deviceId: string
    version: number
    commandId: string
    state: DeviceDesired
    publishedAt: number
    /** The block whose run set this state; 0n if it was set outside a run. */
    blockNumber: bigint
  }
  'device:reported': {
    deviceId: string
    version: number
    /** `immobilizer`: what the car's starter interrupt does (stage, immobilized, pending disable…). */
    state: { locked: boolean; message?: string | undefined; immobilizer?: ImmobilizerReport | undefined }
    receivedAt: number
  }
  /**
   * A device behind its desired version was sent it again (see createDeviceDispatcher): after a report
   * that is behind (`report`, a refusal included), or found by the periodic reconciliation (`reconcile`).
   * `attempt` counts the corrections since the device last caught up.
   */
  'device:corrected': {
    deviceId: string
    desiredVersion: number
    reportedVersion: number
    reason: 'report' | 'reconcile'
    attempt: number
  }
  reorg: { ancestor: bigint; orphaned: number; compensations: number }
  error: unknown
}

/** The shared services of one engine, passed to every stage (Ponder's `Common`). */
export type Common = {
  chainId: number
  chain: ChainConnection
  store: Store
  queue: Queue
  broker: BrokerConnection
  /** Delivers desired device state from the store's outbox to the broker, through outages. */
  dispatcher: DeviceDispatcher
  sandbox: Sandbox
  logger: Logger
  events: Emitter<EngineEvents>
  /** Contract names known to functions, from the config (and the demo's deployment). */
  contracts: Record<string, Address>
  /** Every secret of the config; a run gets only those its function's capabilities name. */
  secrets: Record<string, string>
  functions: Map<string, FunctionBundle>
  index: TriggerIndex
  /** Sandbox limits, and `ctx.kv`'s size limits in UTF-8 bytes of JSON (see setKv). */
  limits: { timeoutMs: number; memoryMb: number; kvValueBytes: number; kvTotalBytes: number }
  /** Default retry policy; a function's own `retry` overrides it field by field. */
  retry: { maxAttempts: number; backoffMs: number; maxBackoffMs: number; on: 'faults' | 'all' }
  /** Sends `ctx.chain.write` transactions from the operator account; null without an operator key. */
  relayer: Relayer | null
  /** The class whose guard every device command passes (see guardCommand); null: every command is refused. */
  deviceClass: DeviceClass | null
  /** The address that signs device commands; null without an operator key or a DeviceRegistry. */
  operator: Address | null
  /** Prepaid execution (meters, holds and settles runs); null when no `payment` is configured. */
  payment: PaymentMeter | null
}
