import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hex,
} from 'viem'
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

/** Desired state of a device; the device reports it back as its acknowledgement. */
export type DeviceDesired = { locked: boolean; reason?: string; message?: string }

/** What a device command did. `changed: false` when the device already had that desired state. */
export type DeviceCommandResult = { deviceId: string; version: number; commandId: string; changed: boolean }

/** The device's desired and last reported state, as pbj knows it. */
export type DeviceView = {
  deviceId: string
  desired: DeviceDesired | null
  desiredVersion: number
  reported: { locked: boolean; message?: string | undefined } | null
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
  }
  devices: {
    lock(deviceId: string, options?: { reason?: string; message?: string }): Promise<DeviceCommandResult>
    unlock(deviceId: string, options?: { reason?: string }): Promise<DeviceCommandResult>
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
