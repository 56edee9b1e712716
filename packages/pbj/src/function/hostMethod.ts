import type { z } from 'zod'

/**
 * What the payment meter counts for a call besides run time: a `ctx.chain.write` as soon as it is asked
 * for (its gas is charged even when it then fails), a device message once it was stored (a refused
 * command costs nothing). The counter names are those of the meter's `RunCounts`.
 */
export type HostMeter = { count: 'writes'; when: 'asked' } | { count: 'deviceMessages'; when: 'served' }

/**
 * One host method: the schema its sandbox arguments must pass (a tuple, extra arguments ignored), the
 * names of those arguments and how to call it (for the error of a bad argument), how it is metered, and
 * whether its first argument carries an ABI the sandbox slims to the entries the call needs. `signature`
 * is never set: it carries the method's TypeScript signature on `ctx` (see {@link hostMethod}).
 */
export type HostMethodSpec = {
  args: z.ZodType<readonly unknown[]>
  argNames: readonly string[]
  usage: string
  meter: HostMeter | null
  slimAbi?: true
}

/**
 * Declares a host method with its `ctx` signature: `hostMethod<sig>()({ … })`. The signature is a type
 * only (generic functions such as `chain.read` keep their generics); the `ctx` types derive from it.
 */
export const hostMethod =
  <signature extends (...args: never[]) => Promise<unknown>>() =>
  <const spec extends HostMethodSpec>(spec: spec): spec & { readonly signature?: signature } =>
    spec
