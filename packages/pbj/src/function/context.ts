import type { BlockInfo, EventInfo } from './ctx.js'
import type { HostContext } from './hostMethods.js'
import type { EventArgs, EventTrigger, Trigger, TriggerRunFields } from './triggers.js'

/**
 * Everything a handler gets, whatever its trigger: the run's data, and `ctx.chain`, `ctx.devices` and
 * `ctx.kv`, whose methods come from the host-method table (hostMethods.ts), so a method added there is
 * on `ctx` with its signature.
 */
export type BaseContext = {
  block: BlockInfo
  chainId: number
  run: { id: string; jobId: string; attempt: number; functionName: string }
  log: {
    info(...args: unknown[]): void
    warn(...args: unknown[]): void
    error(...args: unknown[]): void
  }
  secrets: Readonly<Record<string, string>>
} & HostContext

/** The context of a handler, typed from its trigger: the event's args from its ABI, else its kind's fields. */
export type Context<trigger extends Trigger> = BaseContext &
  (trigger extends EventTrigger<infer abi, infer eventName>
    ? { event: EventInfo<EventArgs<abi, eventName>> }
    : TriggerRunFields[Exclude<trigger['type'], 'event'>])
