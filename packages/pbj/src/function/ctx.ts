import type { ImmobilizerReport } from '@pbj/device'
import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, Hex } from 'viem'
import type { DeviceDesired } from '../core/device.js'

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
