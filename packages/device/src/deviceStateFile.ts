import { readFile, rename, writeFile } from 'node:fs/promises'
import { messageOf } from '@pbj/internal/messageOf.js'
import { z } from 'zod'
import { StateFileError } from './errors/options.js'

/**
 * The desired state a device last applied, and when: what it reports and what its stateFile keeps.
 *
 * @example
 * const applied: AppliedState = { locked: true, version: 3, commandId: 'job-7:0', appliedAt: Date.now() }
 */
export type AppliedState = {
  locked: boolean
  message?: string
  /** Version of the desired message last applied; 0 if none. */
  version: number
  commandId: string | null
  appliedAt: number
}

/**
 * What a device starts from: the state it applied last and the command ids it remembers applying, so a
 * rebooted car still refuses replays.
 *
 * @example
 * const { applied, recent } = await loadDeviceState(file, Date.now(), console.warn)
 */
export type LoadedState = { applied: AppliedState; recent: string[] }

const PersistedState = z.object({
  version: z.number().int().nonnegative(),
  commandId: z.string().nullable(),
  locked: z.boolean(),
  message: z.string().optional(),
  appliedAt: z.number().int().nonnegative(),
  recent: z.array(z.string()).max(64).optional(),
})

/**
 * The state of a device that never applied anything: unlocked, version 0.
 *
 * @example
 * const { applied } = freshDeviceState(Date.now())
 */
export function freshDeviceState(now: number): LoadedState {
  return { applied: { locked: false, version: 0, commandId: null, appliedAt: now }, recent: [] }
}

/**
 * Reads a device's stateFile. A missing file is a fresh device; an unreadable one too, with a warning
 * (version 0 is safe: the retained desired message puts the car back in the right state); a file that
 * exists but cannot be read at all is an error.
 *
 * @example
 * const loaded = await loadDeviceState('car.json', Date.now(), (message) => console.warn(message))
 */
export async function loadDeviceState(
  file: string,
  now: number,
  warn: (message: string) => void,
): Promise<LoadedState> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ENOENT') return freshDeviceState(now)
    throw new StateFileError({ file, cause })
  }
  try {
    const { message, recent = [], ...rest } = PersistedState.parse(JSON.parse(text))
    return { applied: { ...rest, ...(message === undefined ? {} : { message }) }, recent }
  } catch (cause) {
    warn(`stateFile ${file} is unreadable, starting at version 0: ${messageOf(cause)}`)
    return freshDeviceState(now)
  }
}

/**
 * Writes a device's stateFile: write-then-rename, so a power cut never leaves half a file.
 *
 * @example
 * await saveDeviceState('car.json', applied, recent)
 */
export async function saveDeviceState(
  file: string,
  applied: AppliedState,
  recent: readonly string[],
): Promise<void> {
  const temp = `${file}.tmp`
  await writeFile(temp, JSON.stringify({ ...applied, recent }))
  await rename(temp, file)
}
