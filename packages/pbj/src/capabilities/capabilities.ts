/** The `ctx.devices` methods that change a device's desired state; each must be granted by name. */
export const deviceActions = ['lock', 'unlock', 'warn'] as const

/** A mutating `ctx.devices` method: `lock`, `unlock` or `warn`. */
export type DeviceAction = (typeof deviceActions)[number]

/**
 * A contract a capability names: a name from the config's `contracts`, or an address.
 */
export type CapabilityContract = string

/** One contract function a function may send with `ctx.chain.write`. */
export type WriteGrant = {
  /**
   * A name from `contracts`, an address, or `'*'`: any address. `'*'` lets the function call
   * `functionName` on every contract, including ones an attacker deploys or ones with a function of that
   * name you did not mean (e.g. `'*'` with `transfer` moves any token the operator holds). Grant it only
   * for a function name that is harmless on any contract (a keeper entry point such as `payDue`).
   */
  contract: CapabilityContract | '*'
  /**
   * The function's name (`'payDue'`), or its full signature (`'payDue()'`, `'pay(uint256)'`): with a signature
   * only that selector matches, whatever ABI the function passes. Required with `contract: '*'`, where a bare
   * name would also match a same-named function with other parameters.
   */
  functionName: string
  /** The most wei one call may send; default 0n (no value). */
  maxValue?: bigint | number
}

/**
 * What a function may do besides reading the chain, its own kv and its logs. Everything else is refused
 * by the engine before anything is signed or stored, so a buggy or compromised function cannot act as
 * the operator.
 *
 * @example
 * capabilities: {
 *   devices: { actions: ['lock'], where: { contract: 'CarLoan', functionName: 'hasActiveLoan' } },
 *   write: [{ contract: '*', functionName: 'payDue()' }],
 *   secrets: ['API_KEY'],
 * }
 */
export type Capabilities = {
  devices?: {
    /** The `ctx.devices` methods it may call. */
    actions: readonly DeviceAction[]
    /**
     * A view `functionName(address device) returns (bool)` on `contract` that must return true at the
     * newest block for the device a command targets; a command to any other device is refused.
     */
    where?: { contract: CapabilityContract; functionName: string }
  }
  /** The contract functions it may send with `ctx.chain.write`, each with a value cap. */
  write?: readonly WriteGrant[]
  /** The config `secrets` it may read; `ctx.secrets` holds only these. */
  secrets?: readonly string[]
}

/** Capabilities as the engine keeps them: every field present, value caps as bigints. */
export type GrantedCapabilities = {
  devices: {
    actions: readonly DeviceAction[]
    where: { contract: string; functionName: string } | null
  }
  write: readonly { contract: string; functionName: string; maxValue: bigint }[]
  secrets: readonly string[]
}

/** A function that declares nothing: it may read the chain, use its kv and log, and nothing else. */
export const noCapabilities: GrantedCapabilities = Object.freeze({
  devices: Object.freeze({ actions: Object.freeze([]), where: null }),
  write: Object.freeze([]),
  secrets: Object.freeze([]),
})
