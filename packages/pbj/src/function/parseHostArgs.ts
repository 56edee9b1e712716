import { HostArgsError } from '../internal/errors.js'
import type { HostMethodSpec } from './hostMethod.js'
import { type HostArgs, type HostMethod, hostMethods } from './hostMethods.js'

/**
 * Checks a call's arguments, copied out of the sandbox, against its method's schema: what the handler gets.
 *
 * @throws HostArgsError (a HostCallError) naming the method, the argument (and field), what is wrong, and how to call it.
 * @example
 * parseHostArgs('devices.get', ['0x12']) // throws: ctx.devices.get: deviceId must be a 0x-prefixed 20-byte address; got 0x12
 */
export function parseHostArgs<method extends HostMethod>(
  method: method,
  args: readonly unknown[],
): HostArgs<method> {
  const spec: HostMethodSpec = hostMethods[method]
  // A missing argument is undefined, as in JavaScript: its schema says whether that will do.
  const padded = Array.from({ length: Math.max(args.length, spec.argNames.length) }, (_, i) => args[i])
  const parsed = spec.args.safeParse(padded)
  if (parsed.success) return parsed.data as HostArgs<method>
  const issue = parsed.error.issues[0]
  const [index = 0, ...fields] = issue?.path ?? []
  const name = spec.argNames[Number(index)] ?? `argument ${String(index)}`
  let value: unknown = padded[Number(index)]
  for (const field of fields)
    value = typeof value === 'object' && value !== null ? Reflect.get(value, field) : undefined
  throw new HostArgsError({
    method,
    argument: name,
    path: [name, ...fields.map(String)].join('.'),
    issue: issue?.message ?? 'is not valid',
    value,
    usage: spec.usage,
  })
}
