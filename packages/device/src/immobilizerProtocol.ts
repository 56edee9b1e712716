import { z } from 'zod'

const Seconds = z.number().int().nonnegative()

/**
 * A loan's immobilizer policy, as `CarLoan.policyOf(loanId)` holds it on chain (durations in seconds):
 * how long the car must warn before it may be disabled, how long before the lock the final warning
 * starts, and how many 24-hour emergency restarts the borrower gets per delinquency.
 *
 * @example
 * const policy: ImmobilizerPolicy = {
 *   warningPeriod: 10 * 86_400, finalWarning: 2 * 86_400, emergencyStarts: 3, emergencyDuration: 86_400,
 * }
 */
export const ImmobilizerPolicy = z.object({
  warningPeriod: Seconds,
  finalWarning: Seconds,
  emergencyStarts: z.number().int().min(0).max(1_000),
  emergencyDuration: Seconds,
})
export type ImmobilizerPolicy = z.infer<typeof ImmobilizerPolicy>

/**
 * What the engine wants the car's immobilizer to do: nothing (`none`, also the unlock), show the warning,
 * show the final warning, or disable the next start.
 *
 * @example
 * ImmobilizerStage.parse('final-warning')
 */
export const ImmobilizerStage = z.enum(['none', 'warning', 'final-warning', 'disable'])
export type ImmobilizerStage = z.infer<typeof ImmobilizerStage>

/**
 * The immobilizer part of a desired state (`state.immobilizer`). Times are chain time (unix seconds):
 * `since` is when the stage began on chain (the deadline that fired: a due date, or lockAt -
 * finalWarning), counted at most from the command's own `chainTime` (the block that caused it); `lockAt`
 * names the missed due date's lock time (the delinquency the stage belongs to). `locked` in the desired
 * state alone decides whether the car is to be disabled.
 *
 * @example
 * const command: ImmobilizerCommand = { stage: 'warning', since: 1_700_000_000, lockAt: 1_700_864_000, policy }
 */
export const ImmobilizerCommand = z.object({
  stage: ImmobilizerStage,
  since: Seconds.optional(),
  /**
   * With a final warning: when the warning stage began on chain (the missed due date). A car that never got
   * the warning itself (offline, or both stages delivered as one retained state) counts the warning stage
   * from then, never later than the final warning.
   */
  warningSince: Seconds.optional(),
  lockAt: Seconds.optional(),
  policy: ImmobilizerPolicy.optional(),
})
export type ImmobilizerCommand = z.infer<typeof ImmobilizerCommand>

/**
 * The immobilizer part of a car's report: what it shows and whether its next start is prevented.
 * `emergencyUntil` is wall-clock ms; `refused` says why the last disable was not applied.
 *
 * @example
 * const report: ImmobilizerReport = {
 *   stage: 'disable', immobilized: true, pendingDisable: false, emergencyStartsLeft: 3, emergencyUntil: null,
 * }
 */
export const ImmobilizerReport = z.object({
  stage: ImmobilizerStage,
  immobilized: z.boolean(),
  pendingDisable: z.boolean(),
  emergencyStartsLeft: z.number().int().nonnegative().nullable(),
  emergencyUntil: z.number().int().nonnegative().nullable(),
  lockAt: Seconds.nullable().optional(),
  refused: z.string().max(500).optional(),
})
export type ImmobilizerReport = z.infer<typeof ImmobilizerReport>
