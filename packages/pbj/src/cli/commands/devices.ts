import { loadConfig } from '../../config/loadConfig.js'
import type { DeviceRecord } from '../../core/device.js'
import { toJsonLine } from '../../internal/toJsonLine.js'
import { openProjectStore } from '../openProjectStore.js'
import { printCorrections } from './deviceCorrections.js'

/**
 * One device as `pbj devices --json` prints it: the store's record plus whether the device has caught up.
 *
 * @example
 * const row: DeviceListing = { ...record, inSync: false, differsForMs: 12_000 }
 */
export type DeviceListing = DeviceRecord & {
  /** The device reported the desired version (or a later one). */
  inSync: boolean
  /** How long desired and reported have differed (since the desired state was set); null when in sync. */
  differsForMs: number | null
}

/**
 * `pbj devices [--dir <project>] [--json] [--corrections]`: every device in the project's store with its desired state
 * (version, locked, immobilizer stage), what it last reported (version, state), the version the broker acknowledged,
 * and how long desired and reported have differed; with `--corrections`, what chain-level reconciliation
 * corrected (or was refused) instead. Read-only; works while the engine runs.
 *
 * @example
 * await devicesCommand({ dir: '.', json: false })
 * // device                                      desired                   reported      published  status
 * // 0x70997970c51812dc3a010c7d01b50e0d17dc79c8  v2 locked (missed-payment) v1 unlocked  v2         differs for 12 s
 */
export async function devicesCommand(o: {
  dir?: string | undefined
  json?: boolean | undefined
  /** Lists the corrections chain-level reconciliation made instead (printCorrections). */
  corrections?: boolean | undefined
}) {
  const dir = o.dir ?? process.cwd()
  const { config } = await loadConfig(dir)
  const store = openProjectStore(dir, config)
  try {
    if (o.corrections) return await printCorrections(store, { json: o.json === true })
    const now = Date.now()
    let after = ''
    let count = 0
    if (!o.json) process.stdout.write(header)
    for (;;) {
      const page = await store.listDevices(1_000, after)
      for (const device of page) {
        const listing = toListing(device, now)
        process.stdout.write(o.json ? toJsonLine(listing) : formatDevice(listing))
      }
      count += page.length
      const last = page.at(-1)
      if (!last || page.length < 1_000) break
      after = last.deviceId
    }
    if (!o.json && count === 0) process.stdout.write(`(no devices in the store yet)\n`)
    return 0
  } finally {
    await store.close()
  }
}

/**
 * Adds whether the device caught up and for how long it has not.
 *
 * @example
 * toListing(record, Date.now()).differsForMs // 12000, or null when in sync
 */
export function toListing(device: DeviceRecord, now: number): DeviceListing {
  const inSync = device.reportedVersion >= device.desiredVersion
  return {
    ...device,
    inSync,
    differsForMs: inSync ? null : Math.max(0, now - (device.desiredAt ?? now)),
  }
}

const widths = [42, 32, 16, 9]
const row = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`
const header = row(['device', 'desired', 'reported', 'published', 'status'])

/** The immobilizer stage a desired or reported state carries (`warning`, `final-warning`, `disable`), if any. */
const stageOf = (state: unknown): string | undefined => {
  const stage = (state as { immobilizer?: { stage?: unknown } } | null)?.immobilizer?.stage
  return typeof stage === 'string' ? stage : undefined
}

const describeState = (version: number, state: { locked: boolean } | null) => {
  if (!state) return '-'
  const stage = stageOf(state)
  return `v${version} ${state.locked ? 'locked' : 'unlocked'}${stage ? ` [${stage}]` : ''}`
}

const formatDevice = (d: DeviceListing) => {
  const reason = d.desired?.reason ? ` (${d.desired.reason})` : ''
  const status = d.inSync
    ? 'in sync'
    : `differs for ${Math.floor((d.differsForMs ?? 0) / 1000)} s${d.publishedVersion < d.desiredVersion ? ', not yet published' : ''}${d.corrections > 0 ? `, re-sent ${d.corrections}×` : ''}`
  return row([
    d.deviceId,
    d.desired ? `${describeState(d.desiredVersion, d.desired)}${reason}` : '-',
    describeState(d.reportedVersion, d.reported),
    d.desired ? `v${d.publishedVersion}` : '-',
    status,
  ])
}
