import type { Abi, Address } from 'viem'
import type { DeviceAction } from '../../capabilities/capabilities.js'
import type { DeviceDesired } from '../../core/device.js'

/**
 * What a command does to a device, as its class judges it (the same names a function's capabilities grant):
 * `lock` immobilizes, `warn` shows a warning (the device stays usable), `unlock` clears both.
 */
export type { DeviceAction }

/**
 * One command about to be stored and signed: the device, what it does, the full desired state, and the
 * desired state it replaces (null for a device never commanded), so a guard can tell a step back (a warning
 * replacing a lock) from a step forward.
 */
export type DeviceCommand = {
  deviceId: string
  action: DeviceAction
  desired: DeviceDesired
  current?: DeviceDesired | null | undefined
}

/**
 * The chain as a guard sees it: view calls at one block (the newest the engine has seen, never older than
 * the block that caused the run), and the contract names of the config.
 */
export type GuardChain = {
  blockNumber: bigint
  contracts: Readonly<Record<string, Address>>
  read(call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] }): Promise<unknown>
}

/**
 * A guard's answer. A refusal names its `reason` (a short code kept with the run) and says why in words.
 */
export type GuardVerdict = { ok: true } | { ok: false; reason: string; message: string; hint?: string }

/**
 * A `ctx.devices.lock` / `unlock` / `warn` call as the engine hands it to the device class: the action,
 * the ctx method (for messages) and the function's options. `reason` and `message` are checked (short
 * printable strings); every other field is the class's own, straight from the function: check it.
 */
export type DeviceRequest = {
  action: DeviceAction
  method: string
  options: { reason?: string | undefined; message?: string | undefined; [field: string]: unknown }
}

/**
 * What the chain says a device should be (the device call that would put it there) and, when the class can
 * tell, `changesAt`: the chain time (seconds, as block timestamps) from which that answer changes by itself,
 * with no transaction (e.g. a due date passing). pbj re-checks the device at the first block that reaches it,
 * so a lost timer or a deadline moved by a vanished event still takes effect on time.
 */
export type ChainAnswer = DeviceRequest & { changesAt?: bigint | undefined }

/**
 * A kind of device pbj commands, and the chain's say over it. `toDesired` turns a function's device call
 * into the desired state the device is sent (its defaults, its own fields in the device's format); before
 * any command to a device of the class is stored or signed, `guard` reads the chain at the newest block and
 * allows or refuses it. The platform runs the guard for every command, whatever the function asked; a guard
 * that cannot be read refuses a lock and has an unlock retried. The engine knows no class: the immobilizer
 * (a car under a loan, deviceClasses/immobilizer/) is one; another brings its own.
 *
 * @example
 * const thermostats: DeviceClass = {
 *   name: 'thermostat',
 *   async guard(command, chain) {
 *     const paid = await chain.read({ address: chain.contracts.Lease!, abi, functionName: 'isPaid', args: [command.deviceId] })
 *     return paid || command.action !== 'lock' ? { ok: true } : { ok: false, reason: 'paid', message: 'the lease is paid' }
 *   },
 * }
 */
export type DeviceClass = {
  name: string
  /** Checked at engine start: e.g. that the contracts it reads are configured. Throws a ConfigError. */
  check?(contracts: Readonly<Record<string, Address>>): void
  /**
   * Checked at engine start, after every configured contract was found to have code: that the contracts
   * the class reads have the interface it expects (a view call each must answer, see probeContract), so a
   * wrong address is refused at start rather than found when a lock's guard cannot read. Throws a
   * ConfigError (ContractInterfaceError).
   */
  verify?(chain: GuardChain & { chainId: number }): Promise<void>
  guard(command: DeviceCommand, chain: GuardChain): Promise<GuardVerdict>
  /**
   * The desired state a device call asks for. Throws on options the class cannot use, naming the method,
   * the field and the fix (a HostCallError, or any error: the engine makes it one): the run fails with
   * it, is not retried, and nothing is sent.
   */
  toDesired(request: DeviceRequest): DeviceDesired
  /**
   * What the chain says the device should be, at `chain.blockNumber` (the head), as the device call that
   * would put it there; null when the chain says nothing about it (leave it as it is). Optional: without
   * it pbj does no chain-level reconciliation for the class. The engine turns the answer into a desired
   * state with `toDesired` and, when its meaning differs from the stored one, sends it through the guard
   * like any `ctx.devices` call (see createChainReconciler). With `changesAt` the engine re-checks the
   * device once a block's timestamp reaches it (ChainAnswer).
   */
  desiredFromChain?(deviceId: string, chain: GuardChain): Promise<ChainAnswer | null>
  /**
   * Devices the chain knows of at `chain.blockNumber`, so a reconciliation also reaches those the store has
   * never seen (ids, any case). Optional: without it only devices in the store are reconciled.
   */
  listDevices?(chain: GuardChain): Promise<readonly string[]>
  /**
   * What a desired state means, in a word, for comparing the stored state with the chain's: two states with
   * the same meaning are no drift, whatever their version, reason or message. Default: `locked` or
   * `unlocked`.
   */
  meaningOf?(desired: DeviceDesired): string
}
