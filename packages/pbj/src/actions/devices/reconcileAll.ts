import { messageOf } from '@pbj/internal/messageOf.js'
import type { DeviceRecord } from '../../core/device.js'
import type { ReconcileReason } from '../../core/deviceCorrection.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'
import type { Logger } from '../../internal/logger.js'
import type { DeviceClass, GuardChain } from './deviceClass.js'
import {
  type DeviceOutcome,
  type ReconcileDeviceServices,
  type ReconcilePass,
  reconcileDevice,
} from './reconcileDevice.js'

/** What a pass uses: reconcileDevice's services, the device list, the 'reconciled' event, and the log. */
export type ReconcileAllServices = ReconcileDeviceServices & {
  store: Pick<Store, 'listDevices'>
  events: Pick<Emitter<Pick<EngineEvents, 'device:corrected' | 'reconciled'>>, 'emit'>
  logger: Pick<Logger, 'warn' | 'info'>
}

/**
 * One reconciliation pass over every device: reads the head block once, then reconciles (reconcileDevice)
 * each device the store knows, a thousand per page, and each the class lists from the chain that the store
 * has not, `concurrency` at a time (their chain reads go out together). A device that cannot be read counts
 * as failed (one warning per pass names the first error). With `only`, just those devices (a scheduled
 * re-check). Each device's next change time goes to `onChangesAt`. Logs a line when something changed, emits
 * 'reconciled' and returns the same summary. `stopped()` ends it between devices.
 *
 * @example
 * const summary = await reconcileAll(services, deviceClass, 'periodic', { concurrency: 32, stopped: () => false })
 */
export async function reconcileAll(
  services: ReconcileAllServices,
  deviceClass: DeviceClass & Required<Pick<DeviceClass, 'desiredFromChain'>>,
  reason: ReconcileReason,
  options: {
    concurrency: number
    stopped: () => boolean
    /** Only these devices (ids as stored), e.g. those whose time came; default every device. */
    only?: readonly string[] | undefined
    /** The block to read the chain at (a device is corrected only if the head agrees); default the head. */
    atBlock?: bigint | undefined
    onChangesAt?: ReconcilePass['onChangesAt']
  },
): Promise<EngineEvents['reconciled']> {
  const { concurrency, stopped, only } = options
  const head = await headBlock(services.chain)
  const atBlock = options.atBlock !== undefined && options.atBlock < head ? options.atBlock : head
  const chainAt = (blockNumber: bigint): GuardChain => ({
    blockNumber,
    contracts: services.contracts,
    read: (call) => services.chain.readContract({ ...call, args: [...call.args], blockNumber }),
  })
  const chain = chainAt(atBlock)
  const at = Date.now()
  const context: ReconcilePass = {
    chain,
    reason,
    id: `${atBlock}-${at.toString(36)}`,
    at,
    onChangesAt: options.onChangesAt,
    head: atBlock === head ? undefined : chainAt(head),
  }
  const counts: Record<DeviceOutcome, number> = { same: 0, silent: 0, corrected: 0, refused: 0, failed: 0 }
  let firstFailure: unknown
  const seen = new Set<string>()
  const one = async (device: Pick<DeviceRecord, 'deviceId' | 'desired' | 'reportedVersion'>) => {
    seen.add(device.deviceId)
    try {
      counts[await reconcileDevice(services, deviceClass, device, context)]++
    } catch (error) {
      counts.failed++
      firstFailure ??= error
    }
  }
  const byId = async (deviceId: string) => {
    const stored = await services.store.getDevice(deviceId)
    await one({ deviceId, desired: stored?.desired ?? null, reportedVersion: stored?.reportedVersion ?? 0 })
  }
  if (only) await forEach(only, concurrency, byId, stopped)
  for (let after = ''; !only && !stopped(); ) {
    const page = await services.store.listDevices(1_000, after)
    await forEach(page, concurrency, one, stopped)
    const last = page.at(-1)
    if (!last || page.length < 1_000) break
    after = last.deviceId
  }
  if (deviceClass.listDevices && !only && !stopped()) {
    const unseen = (await deviceClass.listDevices(chain))
      .map((id) => id.toLowerCase())
      .filter((id) => !seen.has(id))
    await forEach(unseen, concurrency, byId, stopped)
  }
  if (firstFailure !== undefined) {
    services.logger.warn(
      `device reconciliation (${reason}) at block ${atBlock}: ${counts.failed} device(s) could not be reconciled, left to the next pass: ${messageOf(firstFailure, { firstLine: true })}`,
      { reason, atBlock, failed: counts.failed },
    )
  }
  const summary: EngineEvents['reconciled'] = {
    reason,
    devices: seen.size,
    corrected: counts.corrected,
    refused: counts.refused,
    failed: counts.failed,
    atBlock,
  }
  if (summary.corrected > 0 || summary.refused > 0) {
    services.logger.info(
      `device reconciliation (${reason}) at block ${atBlock}: ${summary.devices} device(s), ${summary.corrected} corrected, ${summary.refused} refused by the guard`,
      { ...summary },
    )
  }
  services.events.emit('reconciled', summary)
  return summary
}

/** The newest head the connection has seen, without a round trip when it has one. */
async function headBlock(chain: ReconcileDeviceServices['chain']): Promise<bigint> {
  const seen = chain.latestSeen()
  return seen > 0n ? seen : (await chain.getHeader('latest')).number
}

/** Runs `work` on each item, `limit` at a time, until done or `stop()` says so. */
async function forEach<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  let i = 0
  const lane = async () => {
    while (i < items.length && !stop()) {
      const item = items[i++] as T
      await work(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}
