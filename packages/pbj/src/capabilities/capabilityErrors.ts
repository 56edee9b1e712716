import { CapabilityError, HostCallError, type PbjErrorOptions } from '../internal/errors.js'

// The refusals of checkCapability and checkDeviceText, one class each. Every capability refusal is a
// CapabilityError (a user error, docs at #capabilities), except a devices.where view the RPC could not read.
// Each keeps its family's `name`: a run's error is stored and shown (`pbj runs`) by name, so the class
// tells them apart in code and the record reads as before.

const show = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : `'${String(v)}'`)

/** A function called a device action its `capabilities.devices.actions` does not grant. */
export class CapabilityNotGrantedError extends CapabilityError {
  constructor(params: {
    functionName: string
    method: string
    action: string
    granted: readonly string[]
    /** The function's file (or name), where the hint says to add the grant. */
    where: string
    deviceId: unknown
  }) {
    const { functionName, method, action, where } = params
    const actions = [...params.granted, action].map((a) => `'${a}'`).join(', ')
    super(
      `Function '${functionName}' may not call ctx.${method}(): its capabilities do not grant '${action}'`,
      {
        hint: `If it should, add capabilities: { devices: { actions: [${actions}] } } to defineFunction in ${where}.`,
        meta: { functionName, method, deviceId: params.deviceId },
      },
    )
  }
}

/** The `devices.where` view a device command is checked against, and the call made of it. */
type WhereCheck = {
  functionName: string
  method: string
  deviceId: string
  view: { contract: string; functionName: string }
  /** The call as shown, e.g. `CarLoan.isCarDelinquent(0xcar…)`. */
  call: string
  blockNumber: bigint
}

/**
 * The `devices.where` view could not be read. A revert (`answered`) is the view misconfigured: a user
 * error. Anything else is the RPC away: retryable, and nothing is sent meanwhile.
 */
export class DeviceWhereFailedError extends CapabilityError {
  constructor(params: WhereCheck & { address: string; answered: boolean; reason: string; cause: unknown }) {
    const { functionName, method, deviceId, view, call, blockNumber, answered } = params
    super(
      `Function '${functionName}' may not call ctx.${method}(${deviceId.toLowerCase()}): its capabilities.devices.where view ${call} failed at block ${blockNumber}: ${params.reason}`,
      {
        cause: params.cause,
        retry: answered ? 'user' : 'retryable',
        hint: answered
          ? `Point capabilities.devices.where at a view ${view.functionName}(address) returns (bool) deployed at ${params.address}.`
          : 'Check that the RPC is reachable; the run is retried.',
        meta: { functionName, method, deviceId, where: view },
      },
    )
  }
}

/** The `devices.where` view says the device is not one this function may command (it returned `result`). */
export class DeviceNotAllowedError extends CapabilityError {
  constructor(params: WhereCheck & { result: unknown }) {
    const { functionName, method, deviceId, view, call, blockNumber } = params
    super(
      `Function '${functionName}' may not call ctx.${method}(${deviceId.toLowerCase()}): ${call} returned ${String(params.result)} at block ${blockNumber}`,
      {
        hint: `Its capabilities.devices.where lets it command only devices for which ${view.contract}.${view.functionName} returns true; check the device id it computed.`,
        meta: { functionName, method, deviceId, where: view, blockNumber },
      },
    )
  }
}

/** A `ctx.chain.write` matches no `capabilities.write` grant. */
export class WriteNotGrantedError extends CapabilityError {
  constructor(params: {
    functionName: string
    /** The write as shown, e.g. `CarLoan.payDue` or `Name.fn (0x…)`. */
    target: string
    where: string
    contract: string
    writeFunctionName: string
  }) {
    const { functionName, target, where } = params
    super(
      `Function '${functionName}' may not ctx.chain.write ${target}: its capabilities grant no such write`,
      {
        hint: `If it should, add { contract: '${params.contract}', functionName: '${params.writeFunctionName}' } to capabilities.write in ${where} (maxValue defaults to 0n: no ETH).`,
        meta: { target },
      },
    )
  }
}

/** A `ctx.chain.write` sends more wei than the largest `maxValue` of the grants it matches. */
export class WriteValueCapError extends CapabilityError {
  constructor(params: {
    functionName: string
    contract: string
    to: string
    writeFunctionName: string
    value: bigint
    maxValue: bigint
    where: string
  }) {
    const { functionName, contract, to, writeFunctionName, value, maxValue, where } = params
    super(
      `Function '${functionName}' may not send ${value} wei with ctx.chain.write ${contract}.${writeFunctionName}: its capabilities allow at most ${maxValue} wei`,
      {
        hint: `If it should, set maxValue: ${show(value)} on { contract: ${show(contract)}, functionName: ${show(writeFunctionName)} } in capabilities.write in ${where}.`,
        meta: { functionName, contract, to, target: writeFunctionName, value, maxValue },
      },
    )
  }
}

/** The text a device command carries (`message` or `reason`) is not a string, too long, or unprintable. */
export class DeviceTextError extends HostCallError {
  constructor(params: DeviceTextProblem) {
    super(...deviceTextFailure(params))
  }
}

type DeviceTextProblem = { method: string; field: string } & (
  | { problem: 'type'; type: string }
  | { problem: 'length'; length: number; max: number }
  | { problem: 'control'; code: string; index: number }
)

function deviceTextFailure(params: DeviceTextProblem): [string, PbjErrorOptions] {
  const at = `ctx.${params.method}: ${params.field}`
  switch (params.problem) {
    case 'type':
      return [`${at} must be a string; got ${params.type}`, {}]
    case 'length':
      return [
        `${at} is ${params.length} characters; at most ${params.max} are shown`,
        { hint: `Shorten the ${params.field} to ${params.max} characters or fewer.` },
      ]
    case 'control':
      return [
        `${at} holds the control character ${params.code} at position ${params.index}`,
        {
          hint: `Use printable text only in ${params.field}: no newlines, tabs, escape codes or direction overrides.`,
        },
      ]
  }
}
