import { LOCK_MESSAGE } from '@pbj/device'
import type { Abi, Address } from 'viem'
import { commandDevice } from '../actions/devices/commandDevice.js'
import { chainWrite } from '../actions/relayer/chainWrite.js'
import { checkCapability } from '../capabilities/checkCapability.js'
import { resolveContract } from '../chain/resolveContract.js'
import type { Job } from '../core/job.js'
import type { DeviceView } from '../function/ctx.js'
import { HostCallError } from '../internal/errors.js'
import type { HostApi } from '../runtime/createSandbox.js'
import { setKv } from './setKv.js'
import { toDeviceImmobilizer } from './toDeviceImmobilizer.js'
import type { HostServices } from './types.js'

const isDeviceId = (v: unknown): v is string => typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)

/**
 * The host side of `ctx`: what a run may do outside its sandbox. Arguments come from untrusted code and
 * are checked here, and every call first passes the function's `capabilities` (checkCapability): nothing
 * it was not granted is signed or stored. Device command ids derive from the job id and the call's position, so a retried run
 * repeats the same commands instead of issuing new ones.
 *
 * @example
 * const host = createHostApi(services, job)
 * await sandbox.run(job.functionName, input, host.call)
 */
export function createHostApi(services: HostServices, job: Job): { call: HostApi; failures: unknown[] } {
  let commands = 0
  // Transactions get their own counter: adding a device command must not change a write's idempotency key.
  let writes = 0
  const failures: unknown[] = []
  const deviceArg = (v: unknown, method: string) => {
    if (!isDeviceId(v)) {
      throw new HostCallError(
        `ctx.${method}: deviceId must be a 0x-prefixed 20-byte address; got ${String(v)}`,
      )
    }
    return v
  }
  const call: HostApi = async (method, args) => {
    try {
      await checkCapability(services, job, method, args)
      switch (method) {
        case 'chain.read': {
          const p = (args[0] ?? {}) as {
            contract?: string
            abi?: Abi
            functionName?: string
            args?: unknown[]
          }
          const blockNumber = (args[0] as { blockNumber?: bigint | 'latest' }).blockNumber
          if (!p.contract || !Array.isArray(p.abi) || typeof p.functionName !== 'string') {
            throw new HostCallError('ctx.chain.read needs { contract, abi, functionName, args? }')
          }
          const [address] = resolveContract(p.contract, services.contracts, job.functionName) as [Address]
          return await services.chain.readContract({
            address,
            abi: p.abi,
            functionName: p.functionName,
            args: p.args ?? [],
            // A compensation reads the chain as it is now: its own block is gone.
            ...(blockNumber === 'latest' || (blockNumber === undefined && job.entry === 'onReorg')
              ? {}
              : { blockNumber: blockNumber ?? job.blockNumber }),
          })
        }
        case 'chain.write':
          return await chainWrite(services, job, args[0], writes++)
        case 'devices.lock': {
          const id = deviceArg(args[0], 'devices.lock')
          const o = (args[1] ?? {}) as {
            reason?: string
            message?: string
            lockAt?: unknown
            policy?: unknown
          }
          const immobilizer = toDeviceImmobilizer('devices.lock', 'disable', o)
          const desired = {
            locked: true,
            reason: o.reason ?? 'missed-payment',
            message: o.message ?? LOCK_MESSAGE,
            ...(immobilizer ? { immobilizer } : {}),
          }
          return await commandDevice(services, id, desired, `${job.id}:${commands++}`, job.blockNumber)
        }
        case 'devices.warn': {
          const id = deviceArg(args[0], 'devices.warn')
          const o = (args[1] ?? {}) as { final?: boolean; reason?: string; message?: string }
          const stage = o.final ? 'final-warning' : 'warning'
          const immobilizer = toDeviceImmobilizer('devices.warn', stage, args[1] ?? {})
          const desired = {
            locked: false,
            reason: o.reason ?? stage,
            ...(o.message === undefined ? {} : { message: String(o.message) }),
            ...(immobilizer ? { immobilizer } : {}),
          }
          return await commandDevice(services, id, desired, `${job.id}:${commands++}`, job.blockNumber)
        }
        case 'devices.unlock': {
          const id = deviceArg(args[0], 'devices.unlock')
          const o = (args[1] ?? {}) as { reason?: string }
          const desired = { locked: false, reason: o.reason ?? 'paid' }
          return await commandDevice(services, id, desired, `${job.id}:${commands++}`, job.blockNumber)
        }
        case 'devices.get': {
          const id = deviceArg(args[0], 'devices.get').toLowerCase()
          const d = await services.store.getDevice(id)
          const view: DeviceView = {
            deviceId: id,
            desired: d?.desired ?? null,
            desiredVersion: d?.desiredVersion ?? 0,
            reported: d?.reported ?? null,
            reportedVersion: d?.reportedVersion ?? 0,
          }
          return view
        }
        case 'kv.get': {
          const v = await services.store.kvGet(job.functionName, String(args[0]))
          return v === null ? null : JSON.parse(v)
        }
        case 'kv.set':
          return await setKv(services, job.functionName, String(args[0]), args[1] ?? null)
        case 'kv.delete':
          return void (await services.store.kvDelete(job.functionName, String(args[0])))
        default:
          throw new HostCallError(`Unknown ctx method ${String(method)}`)
      }
    } catch (error) {
      failures.push(error)
      throw error
    }
  }
  return { call, failures }
}
