import type { DeviceImmobilizer } from '../../core/device.js'
import { ImmobilizerArgError } from '../../internal/errors.js'

const policyFields = ['warningPeriod', 'finalWarning', 'emergencyStarts', 'emergencyDuration'] as const

/**
 * Turns the `lockAt`, `since` and `policy` a function passed to `ctx.devices.lock` / `ctx.devices.warn`
 * (bigints as `CarLoan` returns them, or numbers) into the immobilizer part of a desired state: JSON
 * numbers, checked, since they come from untrusted code. Returns undefined for a lock without them (the
 * car will refuse it: it cannot check its warnings).
 *
 * @example
 * toDeviceImmobilizer('devices.warn', 'final-warning', { lockAt: 1_700_864_000n, policy })
 * // { stage: 'final-warning', lockAt: 1700864000, policy: { warningPeriod: 864000, … } }
 */
export function toDeviceImmobilizer(
  method: string,
  stage: DeviceImmobilizer['stage'],
  options: { readonly [field: string]: unknown },
): DeviceImmobilizer | undefined {
  if (options.lockAt === undefined && options.policy === undefined && stage === 'disable') return undefined
  const lockAt = seconds(options.lockAt, `ctx.${method}: lockAt`)
  const policy = options.policy as Record<string, unknown> | null | undefined
  if (typeof policy !== 'object' || policy === null) {
    throw new ImmobilizerArgError({ at: `ctx.${method}: policy`, problem: 'policy', value: policy })
  }
  const checked = Object.fromEntries(
    policyFields.map((field) => [field, seconds(policy[field], `ctx.${method}: policy.${field}`)]),
  ) as NonNullable<DeviceImmobilizer['policy']>
  return {
    stage,
    ...(options.since === undefined ? {} : { since: seconds(options.since, `ctx.${method}: since`) }),
    ...(options.warningSince === undefined || stage !== 'final-warning'
      ? {}
      : { warningSince: seconds(options.warningSince, `ctx.${method}: warningSince`) }),
    lockAt,
    policy: checked,
  }
}

function seconds(value: unknown, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new ImmobilizerArgError({ at: what, problem: 'seconds', value })
  }
  return n
}
