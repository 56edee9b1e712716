import type { Address } from 'viem'
import { commandDevice } from '../actions/devices/commandDevice.js'
import type { DeviceAction, DeviceRequest } from '../actions/devices/deviceClass.js'
import { chainWrite } from '../actions/relayer/chainWrite.js'
import type { ReadRef } from '../chain/createReadMemory.js'
import { resolveContract } from '../chain/resolveContract.js'
import type { DeviceDesired } from '../core/device.js'
import type { Job } from '../core/job.js'
import type { HostArgs, HostMethod, HostResult } from '../function/hostMethods.js'
import { HostCallError } from '../internal/errors.js'
import { prefetchKeyOf } from './prefetchKeyOf.js'
import { setKv } from './setKv.js'
import type { HostServices } from './types.js'

/** One handler per entry of the host-method table, typed by it: a missing or mistyped one does not compile. */
export type HostHandlers = {
  [method in HostMethod]: (args: HostArgs<method>) => Promise<HostResult<method>>
}

/**
 * The engine's side of each `ctx` host method, for one run. Arguments have passed the table's schemas and
 * the function's capabilities (createHostApi). Device command ids derive from the job id and the call's
 * position, so a retried run repeats the same commands instead of issuing new ones; transactions get their
 * own counter, so adding a device command does not change a write's idempotency key.
 *
 * @example
 * const handlers = createHostHandlers(services, job)
 * await handlers['kv.get'](['lockSent'])
 */
export function createHostHandlers(services: HostServices, job: Job): HostHandlers {
  let commands = 0
  let writes = 0
  // The reads at the run's block and its commands' guard reads are remembered for the next run of the same
  // key, which processBlock prefetches (createReadMemory): the key is worked out at the first read.
  let key: string | null | undefined
  const observe = (read: ReadRef) => {
    if (key === undefined) key = prefetchKeyOf(job)
    if (key !== null) services.readMemory?.record(key, job.id, read)
  }
  let guardServices: HostServices | undefined
  const withRecordedGuard = (): HostServices => {
    if (!services.readMemory) return services
    const { chain } = services
    guardServices ??= {
      ...services,
      chain: { ...chain, readContract: (call) => chain.readContract(call, observe) },
    }
    return guardServices
  }
  const command = async (
    action: DeviceAction,
    method: HostMethod,
    deviceId: string,
    options: DeviceRequest['options'],
  ) => {
    // The class makes the desired state (its defaults, its own fields). Without one nothing passes the
    // guard: commandDevice refuses the command ('no-guard', naming the fix) before anything is stored.
    let desired: DeviceDesired = { locked: action === 'lock' }
    try {
      if (services.deviceClass) desired = services.deviceClass.toDesired({ action, method, options })
    } catch (cause) {
      throw asHostCallError(cause)
    }
    return commandDevice(
      withRecordedGuard(),
      deviceId,
      action,
      desired,
      `${job.id}:${commands++}`,
      job.blockNumber,
    )
  }
  return {
    async 'chain.read'([params]) {
      const [address] = resolveContract(params.contract, services.contracts, job.functionName) as [Address]
      const { blockNumber } = params
      // A compensation reads the chain as it is now: its own block is gone.
      const at =
        blockNumber === 'latest' || (blockNumber === undefined && job.entry === 'onReorg')
          ? undefined
          : (blockNumber ?? job.blockNumber)
      const call = {
        address,
        abi: params.abi,
        functionName: params.functionName,
        args: params.args ?? [],
        ...(at === undefined ? {} : { blockNumber: at }),
      }
      // Only reads at the run's own block are worth asking for ahead of the next run (at its block).
      return await services.chain.readContract(call, at === job.blockNumber ? observe : undefined)
    },
    'chain.write': ([params]) => chainWrite(services, job, params, writes++),
    'devices.lock': ([deviceId, options]) => command('lock', 'devices.lock', deviceId, options),
    'devices.unlock': ([deviceId, options]) => command('unlock', 'devices.unlock', deviceId, options),
    async 'devices.get'([deviceId]) {
      const id = deviceId.toLowerCase()
      const d = await services.store.getDevice(id)
      return {
        deviceId: id,
        desired: d?.desired ?? null,
        desiredVersion: d?.desiredVersion ?? 0,
        reported: d?.reported ?? null,
        reportedVersion: d?.reportedVersion ?? 0,
      }
    },
    'devices.warn': ([deviceId, options]) => command('warn', 'devices.warn', deviceId, options),
    async 'kv.get'([key]) {
      const v = await services.store.kvGet(job.functionName, key)
      return v === null ? null : JSON.parse(v)
    },
    'kv.set': ([key, value]) => setKv(services, job.functionName, key, value),
    async 'kv.delete'([key]) {
      await services.store.kvDelete(job.functionName, key)
    },
  }
}

/**
 * What a device class throws from `toDesired` is the function's options being wrong: a HostCallError, a
 * user error that is not retried. Also when the class came bundled with a config file, whose copy of the
 * error classes the engine's `instanceof` does not know: its short message and hint are kept.
 */
function asHostCallError(cause: unknown): HostCallError {
  if (cause instanceof HostCallError) return cause
  const e = cause as { shortMessage?: unknown; message?: unknown; hint?: unknown } | null | undefined
  const message = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? cause)
  return new HostCallError(message, { cause, ...(typeof e?.hint === 'string' ? { hint: e.hint } : {}) })
}
