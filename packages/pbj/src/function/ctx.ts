import type { ImmobilizerReport } from '@pbj/device'
import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hex,
} from 'viem'
import type { DeviceDesired } from '../core/device.js'
import type {
  BlocksTrigger,
  ConditionTrigger,
  DeadlineTrigger,
  EventArgs,
  EventTrigger,
  ScheduleTrigger,
  Trigger,
} from './triggers.js'

/** The block that caused the run. */
export type BlockInfo = { number: bigint; hash: Hex; timestamp: bigint }

/** The decoded log that caused an event run. */
export type EventInfo<args> = {
  name: string
  args: args
  address: Address
  logIndex: number
  transactionHash: Hex
}

type ViewFn<abi extends Abi> = ContractFunctionName<abi, 'pure' | 'view'>

/** Parameters of `ctx.chain.read`, typed from the ABI. */
export type ReadParams<
  abi extends Abi,
  functionName extends ViewFn<abi>,
  args extends ContractFunctionArgs<abi, 'pure' | 'view', functionName>,
> = {
  /** A contract name from the config, or an address. */
  contract: string | Address
  abi: abi
  functionName: functionName
  args?: args
  /** Defaults to the block that triggered the run, so a run sees the chain as it was then. */
  blockNumber?: bigint | 'latest'
}

type WriteFn<abi extends Abi> = ContractFunctionName<abi, 'nonpayable' | 'payable'>

/** Parameters of `ctx.chain.write`, typed from the ABI. */
export type WriteParams<
  abi extends Abi,
  functionName extends WriteFn<abi>,
  args extends ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>,
> = {
  /** A contract name from the config, or an address. */
  contract: string | Address
  abi: abi
  functionName: functionName
  args?: args
  /** Wei sent with the call. */
  value?: bigint
  /** Gas limit; estimated (plus 20 %) when omitted. */
  gas?: bigint
}

/**
 * What `ctx.chain.write` returns once the transaction is signed, recorded and handed to the node (not
 * mined: pbj follows it to the trigger's confirmation mode). `hash` is the first attempt's; a replacement
 * with bumped fees gets another.
 */
export type WriteResult = { hash: Hex; nonce: number }

/**
 * A loan's immobilizer policy as `CarLoan.policyOf(loanId)` returns it (seconds; bigints or numbers): the
 * car refuses to disable until it has warned for `warningPeriod` and finally warned for `finalWarning`.
 */
export type ImmobilizerPolicyInput = {
  warningPeriod: bigint | number
  finalWarning: bigint | number
  emergencyStarts: bigint | number
  emergencyDuration: bigint | number
}

/** What a device command did. `changed: false` when the device already had that desired state. */
export type DeviceCommandResult = { deviceId: string; version: number; commandId: string; changed: boolean }

/** The device's desired and last reported state, as pbj knows it. */
export type DeviceView = {
  deviceId: string
  desired: DeviceDesired | null
  desiredVersion: number
  reported: {
    locked: boolean
    message?: string | undefined
    /** What the car's immobilizer does (stage, immobilized, pendingDisable, emergencyStartsLeft…). */
    immobilizer?: ImmobilizerReport | undefined
  } | null
  reportedVersion: number
}

/** JSON-compatible value stored by `ctx.kv`. */
export type KvValue = string | number | boolean | null | KvValue[] | { [key: string]: KvValue }

/** Everything a handler gets, whatever its trigger. */
export type BaseContext = {
  block: BlockInfo
  chainId: number
  run: { id: string; jobId: string; attempt: number; functionName: string }
  chain: {
    read<
      const abi extends Abi,
      functionName extends ViewFn<abi>,
      const args extends ContractFunctionArgs<abi, 'pure' | 'view', functionName>,
    >(
      params: ReadParams<abi, functionName, args>,
    ): Promise<ContractFunctionReturnType<abi, 'pure' | 'view', functionName, args>>
    /**
     * Sends a transaction from the operator account. Idempotent per run: a retried run gets back the
     * transaction its earlier attempt sent, never a second one.
     */
    write<
      const abi extends Abi,
      functionName extends WriteFn<abi>,
      const args extends ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>,
    >(params: WriteParams<abi, functionName, args>): Promise<WriteResult>
  }
  devices: {
    /**
     * Disables the car's next start. With the loan's `lockAt` and `policy` the car can check the warnings it
     * showed; a car refuses a disable it was not warned of (and shows the warning instead).
     */
    lock(
      deviceId: string,
      options?: {
        reason?: string
        message?: string
        lockAt?: bigint | number
        policy?: ImmobilizerPolicyInput
      },
    ): Promise<DeviceCommandResult>
    unlock(deviceId: string, options?: { reason?: string }): Promise<DeviceCommandResult>
    /**
     * Shows the warning (or, with `final`, the final warning) that must come before a disable: `since` is
     * when the stage began on chain (default: the block's time), `lockAt` when the car may be disabled.
     */
    warn(
      deviceId: string,
      options: {
        final?: boolean
        message?: string
        reason?: string
        since?: bigint | number
        /** With `final`: when the warning stage began (the missed due date), for a car that missed it. */
        warningSince?: bigint | number
        lockAt: bigint | number
        policy: ImmobilizerPolicyInput
      },
    ): Promise<DeviceCommandResult>
    get(deviceId: string): Promise<DeviceView>
  }
  kv: {
    get<T extends KvValue = KvValue>(key: string): Promise<T | null>
    set(key: string, value: KvValue): Promise<void>
    delete(key: string): Promise<void>
  }
  log: {
    info(...args: unknown[]): void
    warn(...args: unknown[]): void
    error(...args: unknown[]): void
  }
  secrets: Readonly<Record<string, string>>
}

/** The context of a handler, typed from its trigger. */
export type Context<trigger extends Trigger> = BaseContext &
  (trigger extends EventTrigger<infer abi, infer eventName>
    ? { event: EventInfo<EventArgs<abi, eventName>> }
    : trigger extends DeadlineTrigger
      ? { deadline: { key: string; at: bigint } }
      : trigger extends ConditionTrigger
        ? { condition: { value: unknown } }
        : trigger extends ScheduleTrigger
          ? { schedule: { at: bigint } }
          : trigger extends BlocksTrigger
            ? Record<never, never>
            : never)
