import { formatDuration, warningMessage } from './immobilizerMessages.js'
import type { ImmobilizerCommand, ImmobilizerPolicy, ImmobilizerStage } from './immobilizerProtocol.js'
import { LOCK_MESSAGE } from './protocol.js'

/**
 * One delinquency as the car saw it: from its first warning to the unlock that ends it. Times are chain
 * time (unix seconds); `warningSince` / `finalWarningSince` are when the car began showing each stage.
 *
 * @example
 * const d: Delinquency = { lockAt: 1_700_864_000, policy, warningSince: 1_700_000_000, finalWarningSince: null, emergencyUsed: 0 }
 */
export type Delinquency = {
  lockAt: number | null
  policy: ImmobilizerPolicy | null
  warningSince: number | null
  finalWarningSince: number | null
  emergencyUsed: number
}

/**
 * The starter interrupt: `off`; `pending` (a disable was accepted, it arms at the next ignition-off with
 * the car standing still); `armed` (the next start is prevented); `suspended` (armed, but an emergency
 * restart is running: starts are allowed until it ends).
 *
 * @example
 * const disable: DisableState = 'pending'
 */
export type DisableState = 'off' | 'pending' | 'armed' | 'suspended'

/**
 * Everything the immobilizer remembers; plain JSON, so the agent can persist it across reboots.
 *
 * @example
 * const state: ImmobilizerState = initialImmobilizerState()
 */
export type ImmobilizerState = {
  ignition: boolean
  speedKmh: number
  /** The stage the car is in, which is what it shows. */
  stage: ImmobilizerStage
  disable: DisableState
  /** Wall-clock ms the running emergency restart ends; null when none runs. */
  emergencyUntil: number | null
  message: string | null
  /** Why the last disable was refused; null once a later command is applied. */
  refused: string | null
  current: Delinquency | null
  /**
   * Delinquencies an unlock ended, by lockAt, newest last (a few). A disable for one of them (the payment
   * that unlocked the car was reorged out) counts the warnings already shown for that very due date.
   */
  past: Delinquency[]
}

/**
 * An input of the state machine. `now` is the wall clock (ms; emergency restarts run on it); warning
 * durations run on the chain time the commands carry (`chainTime`: the timestamp of the block that caused
 * the command). A command's `message`, if any, replaces the text the car would show.
 *
 * @example
 * const input: ImmobilizerInput = { type: 'ignition', on: false, now: Date.now() }
 */
export type ImmobilizerInput =
  | ({ type: 'command'; now: number; chainTime: number; message?: string | undefined } & ImmobilizerCommand)
  | { type: 'ignition'; on: boolean; now: number }
  | { type: 'speed'; kmh: number; now: number }
  | { type: 'emergency-code'; now: number }
  | { type: 'tick'; now: number }

/**
 * The result of one input: the next state, and why the input was refused if it was (a disable without
 * its warnings, a start the armed interrupt prevented, an emergency code that cannot be used).
 *
 * @example
 * const { state, refused } = stepImmobilizer(before, input)
 */
export type ImmobilizerStep = { state: ImmobilizerState; refused?: string }

/**
 * What the car does, derived from its state.
 *
 * @example
 * const { immobilized, pendingDisable, emergencyStartsLeft } = viewImmobilizer(state)
 */
export type ImmobilizerView = {
  stage: ImmobilizerStage
  /** The starter interrupt is armed: the next start is prevented. */
  immobilized: boolean
  /** A disable was accepted and waits for the ignition to be off and the car to stand still. */
  pendingDisable: boolean
  /** The disable is in effect (armed, or suspended by an emergency restart): what the car reports as locked. */
  locked: boolean
  /** The warning on the dashboard, if one is shown. */
  warning: { final: boolean; message: string; since: number | null } | null
  message: string | null
  /** Emergency restarts left for the current delinquency; null when no policy is known. */
  emergencyStartsLeft: number | null
  /** Wall-clock ms the running emergency restart ends; null when none runs. */
  emergencyUntil: number | null
  lockAt: number | null
  refused: string | null
  ignition: boolean
  speedKmh: number
}

const keptDelinquencies = 8

/**
 * A car standing still with the ignition off, warning nothing, disabling nothing.
 *
 * @example
 * let state = initialImmobilizerState()
 */
export function initialImmobilizerState(): ImmobilizerState {
  return {
    ignition: false,
    speedKmh: 0,
    stage: 'none',
    disable: 'off',
    emergencyUntil: null,
    message: null,
    refused: null,
    current: null,
    past: [],
  }
}

/**
 * The car's immobilizer safety rules, as a pure function of its state and one input:
 * - never disabled while moving or with the ignition on: a disable arms at the next ignition-off with the
 *   car standing still, and only ever prevents the next start;
 * - a disable is refused unless the car has shown the warning for at least `warningPeriod` and the final
 *   warning for at least `finalWarning` (chain time) before the disable's block; a refused disable makes
 *   the car show the warning it owes instead;
 * - an emergency code allows starts for `emergencyDuration` (wall clock), at most `emergencyStarts` times
 *   per delinquency;
 * - an unlock (stage `none`) clears everything; a policy never gets weaker within a delinquency.
 *
 * @example
 * let { state } = stepImmobilizer(initialImmobilizerState(), { type: 'ignition', on: true, now: Date.now() })
 * ;({ state } = stepImmobilizer(state, { type: 'command', stage: 'disable', chainTime, lockAt, policy, now: Date.now() }))
 * viewImmobilizer(state).pendingDisable // true (and refused, unless the warnings came first)
 */
export function stepImmobilizer(before: ImmobilizerState, input: ImmobilizerInput): ImmobilizerStep {
  const state = expireEmergency(before, input.now)
  switch (input.type) {
    case 'tick':
      return { state }
    case 'ignition':
      return input.on ? start(state) : stop(state)
    case 'speed': {
      const speedKmh = Number.isFinite(input.kmh) ? Math.max(0, input.kmh) : 0
      return { state: armIfSafe({ ...state, speedKmh }) }
    }
    case 'emergency-code':
      return emergencyStart(state, input.now)
    case 'command':
      return command(state, input)
  }
}

/**
 * What the car does in `state`: immobilized or not, a pending disable, the warning shown, emergency
 * restarts left and running.
 *
 * @example
 * if (viewImmobilizer(state).immobilized) dashboard.show(LOCK_MESSAGE)
 */
export function viewImmobilizer(state: ImmobilizerState): ImmobilizerView {
  const policy = state.current?.policy ?? null
  const warningShown = state.stage === 'warning' || state.stage === 'final-warning'
  const final = state.stage === 'final-warning'
  return {
    stage: state.stage,
    immobilized: state.disable === 'armed',
    pendingDisable: state.disable === 'pending',
    locked: state.disable === 'armed' || state.disable === 'suspended',
    warning: warningShown
      ? {
          final,
          message: state.message ?? warningMessage(state.current?.lockAt ?? null, final),
          since: (final ? state.current?.finalWarningSince : state.current?.warningSince) ?? null,
        }
      : null,
    message: state.message,
    emergencyStartsLeft: policy
      ? Math.max(0, policy.emergencyStarts - (state.current?.emergencyUsed ?? 0))
      : null,
    emergencyUntil: state.emergencyUntil,
    lockAt: state.current?.lockAt ?? null,
    refused: state.refused,
    ignition: state.ignition,
    speedKmh: state.speedKmh,
  }
}

function command(
  state: ImmobilizerState,
  input: Extract<ImmobilizerInput, { type: 'command' }>,
): ImmobilizerStep {
  if (input.stage === 'none') return { state: unlock(state) }
  const { current, past } = delinquencyFor(state, input)
  if (input.stage === 'disable') return disable({ ...state, past }, current, input)
  const final = input.stage === 'final-warning'
  // A stage starts when it began on chain (the deadline that fired), never later than the block that
  // carried it: a warning issued in the first block after the due date counts from the due date.
  const since = Math.min(input.since ?? input.chainTime, input.chainTime)
  const warningSince = final ? Math.min(input.warningSince ?? since, since) : since
  const next: Delinquency = {
    ...current,
    warningSince: current.warningSince ?? warningSince,
    finalWarningSince: final ? (current.finalWarningSince ?? since) : current.finalWarningSince,
  }
  return {
    state: {
      ...state,
      past,
      current: next,
      stage: input.stage,
      // The chain says warn, not disable (the block that disabled the car was reorged out): stand down.
      disable: 'off',
      emergencyUntil: null,
      message: input.message ?? warningMessage(next.lockAt, final),
      refused: null,
    },
  }
}

function disable(
  state: ImmobilizerState,
  current: Delinquency,
  input: Extract<ImmobilizerInput, { type: 'command' }>,
): ImmobilizerStep {
  const reason = missingNotice(current, input.chainTime)
  if (reason === null) {
    // Already armed or suspended (a repeated disable) stays so: it must not cancel an emergency restart.
    const disable = state.disable === 'armed' || state.disable === 'suspended' ? state.disable : 'pending'
    return {
      state: armIfSafe({
        ...state,
        current,
        stage: 'disable',
        disable,
        message: input.message ?? LOCK_MESSAGE,
        refused: null,
      }),
    }
  }
  const refused = `disable refused: ${reason}`
  // A car already disabled for this delinquency stays as it is; the refusal is only recorded.
  if (state.disable !== 'off') return { state: { ...state, current, refused }, refused }
  // Show what the car owes the borrower, from now: the warning, or the final warning once warned.
  const t = input.chainTime
  const next: Delinquency =
    current.warningSince === null
      ? { ...current, warningSince: t }
      : { ...current, finalWarningSince: current.finalWarningSince ?? t }
  const final = next.finalWarningSince !== null
  return {
    state: {
      ...state,
      current: next,
      stage: final ? 'final-warning' : 'warning',
      message: warningMessage(next.lockAt, final),
      refused,
    },
    refused,
  }
}

/** Why a disable at chain time `t` is not allowed yet; null when the warnings were shown long enough. */
function missingNotice(d: Delinquency, t: number): string | null {
  const policy = d.policy
  if (!policy) return 'no immobilizer policy came with it or with a warning'
  if (d.warningSince === null) return 'no warning was shown before it'
  if (t - d.warningSince < policy.warningPeriod) {
    return `the warning was shown for ${formatDuration(t - d.warningSince)} of the ${formatDuration(policy.warningPeriod)} required`
  }
  if (d.finalWarningSince === null) return 'no final warning was shown before it'
  if (t - d.finalWarningSince < policy.finalWarning) {
    return `the final warning was shown for ${formatDuration(t - d.finalWarningSince)} of the ${formatDuration(policy.finalWarning)} required`
  }
  return null
}

/**
 * The delinquency a command belongs to: the current one (a new lockAt without an unlock in between is
 * the same delinquency going on), one an unlock ended with the same lockAt, or a new one. Its policy
 * is the stricter of what the car knew and what the command says.
 */
function delinquencyFor(
  state: ImmobilizerState,
  input: ImmobilizerCommand,
): { current: Delinquency; past: Delinquency[] } {
  let past = state.past
  let found = state.current
  if (!found && input.lockAt !== undefined) {
    found = past.find((d) => d.lockAt === input.lockAt) ?? null
    if (found) past = past.filter((d) => d !== found)
  }
  const base: Delinquency = found ?? {
    lockAt: null,
    policy: null,
    warningSince: null,
    finalWarningSince: null,
    emergencyUsed: 0,
  }
  return {
    current: {
      ...base,
      lockAt: input.lockAt ?? base.lockAt,
      policy: stricter(base.policy, input.policy),
    },
    past,
  }
}

/** Longer warnings and more (and longer) emergency restarts: whatever favours the borrower. */
function stricter(a: ImmobilizerPolicy | null, b: ImmobilizerPolicy | undefined): ImmobilizerPolicy | null {
  if (!b) return a
  if (!a) return b
  return {
    warningPeriod: Math.max(a.warningPeriod, b.warningPeriod),
    finalWarning: Math.max(a.finalWarning, b.finalWarning),
    emergencyStarts: Math.max(a.emergencyStarts, b.emergencyStarts),
    emergencyDuration: Math.max(a.emergencyDuration, b.emergencyDuration),
  }
}

function unlock(state: ImmobilizerState): ImmobilizerState {
  const ended = state.current
  const past =
    ended && ended.lockAt !== null
      ? [...state.past.filter((d) => d.lockAt !== ended.lockAt), ended].slice(-keptDelinquencies)
      : state.past
  return {
    ...state,
    stage: 'none',
    disable: 'off',
    emergencyUntil: null,
    message: null,
    refused: null,
    current: null,
    past,
  }
}

function start(state: ImmobilizerState): ImmobilizerStep {
  if (state.disable === 'armed') {
    return { state, refused: 'start prevented: the vehicle is disabled for a missed payment' }
  }
  return { state: { ...state, ignition: true } }
}

function stop(state: ImmobilizerState): ImmobilizerStep {
  return { state: armIfSafe({ ...state, ignition: false }) }
}

/** A pending disable arms once the ignition is off and the car stands still, and not before. */
function armIfSafe(state: ImmobilizerState): ImmobilizerState {
  if (state.disable !== 'pending' || state.ignition || state.speedKmh > 0) return state
  return { ...state, disable: 'armed' }
}

function emergencyStart(state: ImmobilizerState, now: number): ImmobilizerStep {
  const refuse = (reason: string): ImmobilizerStep => ({
    state,
    refused: `emergency code refused: ${reason}`,
  })
  if (state.disable === 'suspended') return refuse('an emergency restart is already running')
  if (state.disable !== 'armed') return refuse('the vehicle is not disabled')
  const current = state.current
  const policy = current?.policy
  if (!current || !policy) return refuse('no immobilizer policy is known')
  if (current.emergencyUsed >= policy.emergencyStarts) {
    return refuse(`all ${policy.emergencyStarts} emergency restarts of this delinquency are used`)
  }
  return {
    state: {
      ...state,
      disable: 'suspended',
      emergencyUntil: now + policy.emergencyDuration * 1000,
      current: { ...current, emergencyUsed: current.emergencyUsed + 1 },
    },
  }
}

/** An emergency restart that has run its course re-arms the interrupt, at the next ignition-off if driving. */
function expireEmergency(state: ImmobilizerState, now: number): ImmobilizerState {
  if (state.disable !== 'suspended' || state.emergencyUntil === null || now < state.emergencyUntil)
    return state
  return armIfSafe({ ...state, disable: 'pending', emergencyUntil: null })
}
