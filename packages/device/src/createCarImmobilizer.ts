import { readFile, rename, writeFile } from 'node:fs/promises'
import { createLock } from '@pbj/internal/createLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { z } from 'zod'
import { consoleDeviceLogger, type DeviceLogger } from './DeviceLogger.js'
import {
  type ImmobilizerInput,
  type ImmobilizerState,
  type ImmobilizerView,
  initialImmobilizerState,
  stepImmobilizer,
  viewImmobilizer,
} from './immobilizer.js'
import {
  ImmobilizerCommand,
  ImmobilizerPolicy,
  type ImmobilizerReport,
  ImmobilizerStage,
} from './immobilizerProtocol.js'
import type { DesiredState } from './protocol.js'

/**
 * Options of {@link createCarImmobilizer}.
 *
 * @example
 * const options: CarImmobilizerOptions = { stateFile: 'car.json.immobilizer', emergencyCode: '2983' }
 */
export type CarImmobilizerOptions = {
  /** JSON file the immobilizer's state is kept in, so a rebooted car remembers warnings and restarts used. */
  stateFile?: string | undefined
  /** The code that unlocks an emergency restart; by default any code of 4 to 8 digits. */
  emergencyCode?: string | undefined
  /** Called when time alone changed what the car does (an emergency restart ended). */
  onTimer?: (() => void) | undefined
  /** Where unreadable or unsaved state is warned about; defaults to console.warn. */
  logger?: DeviceLogger | undefined
  /** The wall clock, in ms. */
  now?: (() => number) | undefined
}

/**
 * What a driver or sensor input did: refused (with why) or not, and what the car does now.
 *
 * @example
 * const { ok, refused, view } = immobilizer.ignition(true)
 */
export type ImmobilizerResult = { ok: boolean; refused?: string; view: ImmobilizerView }

/**
 * The immobilizer of one car, around the pure state machine ({@link stepImmobilizer}): applies verified
 * desired states, takes the ignition, speed and emergency codes, runs the emergency restart's timer and
 * keeps its state on disk.
 *
 * @example
 * const { locked, message, refused } = immobilizer.apply(desired.state, desired.chainTime)
 */
export type CarImmobilizer = {
  /**
   * Applies a desired state (already verified) caused by a block at `chainTime` (unix seconds). `locked`
   * alone decides between disable and not; the immobilizer details say which warning and the policy.
   */
  apply(state: DesiredState, chainTime: number): { locked: boolean; message?: string; refused?: string }
  ignition(on: boolean): ImmobilizerResult
  setSpeed(kmh: number): ImmobilizerResult
  enterEmergencyCode(code: string): ImmobilizerResult
  view(): ImmobilizerView
  /** The immobilizer part of the car's report. */
  report(): ImmobilizerReport
  /** Waits for the state file to be written; stops the timer. */
  close(): Promise<void>
}

/**
 * What a device without an immobilizer does with a desired state: exactly what it says.
 *
 * @example
 * applyAsIs({ locked: true, message: LOCK_MESSAGE }) // { locked: true, message: LOCK_MESSAGE }
 */
export function applyAsIs(state: DesiredState): { locked: boolean; message?: string; refused?: string } {
  return { locked: state.locked, ...(state.message === undefined ? {} : { message: state.message }) }
}

/**
 * The driver inputs of a device without an immobilizer: each refused, saying so.
 *
 * @example
 * noImmobilizer.ignition(true).refused // 'this device has no immobilizer (immobilizer: false)'
 */
export const noImmobilizer: Pick<CarImmobilizer, 'ignition' | 'setSpeed' | 'enterEmergencyCode'> = (() => {
  const refused = (): ImmobilizerResult => ({
    ok: false,
    refused: 'this device has no immobilizer (immobilizer: false)',
    view: viewImmobilizer(initialImmobilizerState()),
  })
  return { ignition: refused, setSpeed: refused, enterEmergencyCode: refused }
})()

// Built once: zod builds (and on first use compiles) a new schema at every `.partial()`, ~0.1 ms a command.
const CommandDetails = ImmobilizerCommand.partial()

const Delinquency = z.object({
  lockAt: z.number().nullable(),
  policy: ImmobilizerPolicy.nullable(),
  warningSince: z.number().nullable(),
  finalWarningSince: z.number().nullable(),
  emergencyUsed: z.number().int().nonnegative(),
})
const SavedState = z.object({
  ignition: z.boolean(),
  speedKmh: z.number().nonnegative(),
  stage: ImmobilizerStage,
  disable: z.enum(['off', 'pending', 'armed', 'suspended']),
  emergencyUntil: z.number().nullable(),
  message: z.string().nullable(),
  refused: z.string().nullable(),
  current: Delinquency.nullable(),
  past: z.array(Delinquency).max(64),
})

/**
 * Creates the immobilizer of a car, restored from `stateFile` if there is one (an unreadable file starts
 * afresh: a car that forgot its warnings only refuses disables, it never disables early).
 *
 * @example
 * const immobilizer = await createCarImmobilizer({ stateFile: 'car.json.immobilizer', onTimer: report })
 * immobilizer.ignition(true)
 */
export async function createCarImmobilizer(options: CarImmobilizerOptions = {}): Promise<CarImmobilizer> {
  const now = options.now ?? Date.now
  const logger = options.logger ?? consoleDeviceLogger
  const warn = (message: string) => logger.warn(message)
  let state = options.stateFile ? await load(options.stateFile, warn) : initialImmobilizerState()
  let timer: NodeJS.Timeout | undefined
  const saving = createLock()

  const schedule = () => {
    clearTimeout(timer)
    timer = undefined
    const until = state.disable === 'suspended' ? state.emergencyUntil : null
    if (until === null) return
    // setTimeout caps at ~24.8 days; an emergency restart is about one day, but re-check rather than overflow.
    timer = setTimeout(
      () => {
        const before = state.disable
        step({ type: 'tick', now: now() })
        if (state.disable !== before) options.onTimer?.()
      },
      Math.min(Math.max(0, until - now()), 2 ** 31 - 1),
    )
    timer.unref()
  }

  const step = (input: ImmobilizerInput) => {
    const result = stepImmobilizer(state, input)
    state = result.state
    schedule()
    const file = options.stateFile
    if (file) {
      const snapshot = state
      void saving.run(() =>
        save(file, snapshot).catch((cause: unknown) =>
          warn(`immobilizer state not saved: ${messageOf(cause)}`),
        ),
      )
    }
    return result
  }

  const result = (refused: string | undefined): ImmobilizerResult => ({
    ok: refused === undefined,
    ...(refused === undefined ? {} : { refused }),
    view: viewImmobilizer(state),
  })

  schedule()
  return {
    apply(desired, chainTime) {
      const details = CommandDetails.safeParse(desired.immobilizer ?? {})
      const extra = details.success ? details.data : {}
      // `locked` is the signed part of the command: unsigned details can never turn an unlock into a disable.
      const stage = desired.locked
        ? 'disable'
        : extra.stage === 'warning' || extra.stage === 'final-warning'
          ? extra.stage
          : 'none'
      const { refused } = step({
        type: 'command',
        stage,
        chainTime,
        now: now(),
        message: desired.message,
        ...(extra.since === undefined ? {} : { since: extra.since }),
        ...(extra.warningSince === undefined ? {} : { warningSince: extra.warningSince }),
        ...(extra.lockAt === undefined ? {} : { lockAt: extra.lockAt }),
        ...(extra.policy === undefined ? {} : { policy: extra.policy }),
      })
      const view = viewImmobilizer(state)
      return {
        locked: view.locked,
        ...(view.message === null ? {} : { message: view.message }),
        ...(refused === undefined ? {} : { refused }),
      }
    },
    ignition: (on) => result(step({ type: 'ignition', on, now: now() }).refused),
    setSpeed: (kmh) => result(step({ type: 'speed', kmh, now: now() }).refused),
    enterEmergencyCode(code) {
      const valid =
        options.emergencyCode === undefined ? /^\d{4,8}$/.test(code) : code === options.emergencyCode
      if (!valid) return result('emergency code refused: wrong code')
      return result(step({ type: 'emergency-code', now: now() }).refused)
    },
    view: () => viewImmobilizer(state),
    report() {
      const view = viewImmobilizer(state)
      return {
        stage: view.stage,
        immobilized: view.immobilized,
        pendingDisable: view.pendingDisable,
        emergencyStartsLeft: view.emergencyStartsLeft,
        emergencyUntil: view.emergencyUntil,
        lockAt: view.lockAt,
        ...(view.refused === null ? {} : { refused: view.refused.slice(0, 500) }),
      }
    },
    async close() {
      clearTimeout(timer)
      await saving.idle()
    },
  }
}

async function load(file: string, warn: (message: string) => void): Promise<ImmobilizerState> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if ((cause as { code?: unknown }).code !== 'ENOENT')
      warn(`immobilizer state unreadable: ${messageOf(cause)}`)
    return initialImmobilizerState()
  }
  const parsed = SavedState.safeParse(safeJson(text))
  if (parsed.success) return parsed.data
  warn(`immobilizer state in ${file} is invalid, starting afresh: ${parsed.error.issues[0]?.message ?? ''}`)
  return initialImmobilizerState()
}

async function save(file: string, state: ImmobilizerState): Promise<void> {
  // Write-then-rename so a power cut never leaves half a file.
  const temp = `${file}.tmp`
  await writeFile(temp, JSON.stringify(state))
  await rename(temp, file)
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
