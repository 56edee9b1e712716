import { messageOf } from '@pbj/internal/messageOf.js'
import { z } from 'zod'
import { type HostMethod, hostMethodNames } from '../function/hostMethods.js'
import type { Trigger } from '../function/triggers.js'
import {
  FunctionBuildError,
  FunctionRunError,
  PbjError,
  type RunFailureReason,
  SandboxCrashedError,
} from '../internal/errors.js'
import { logLimits } from './bootstrap.js'
import type { FunctionBundle } from './loadFunction.js'
import type { SandboxInput } from './sandboxTypes.js'

// The IPC protocol between createProcessSandbox (parent) and serveSandbox (the child). Both sides parse
// what they receive: the child runs untrusted code, so the parent treats its messages as hostile input, and
// a message that does not parse ends the child.

const id = z.number().int().nonnegative()
const isObject = (v: unknown) => typeof v === 'object' && v !== null
const reasons = [
  'threw',
  'timeout',
  'memory',
  'invalid-result',
  'host-call',
] as const satisfies readonly RunFailureReason[]

/** An error crossing the boundary: its class by name, the PbjError fields, and how to find its cause. */
const wireErrorSchema = z.object({
  name: z.enum(['FunctionRunError', 'SandboxCrashedError', 'FunctionBuildError', 'PbjError']),
  reason: z.enum(reasons).optional(),
  shortMessage: z.string(),
  details: z.string().optional(),
  hint: z.string().optional(),
  docsPath: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  /** The cause is the parent's own host error with this id (a `host-call` failure). */
  hostErrorId: id.optional(),
  /** Otherwise only the cause's message survives the trip. */
  causeMessage: z.string().optional(),
})
export type WireError = z.infer<typeof wireErrorSchema>

const logLineSchema = z.object({
  level: z.enum(['info', 'warn', 'error']),
  // The bootstrap cuts lines at maxChars and adds a short note; a longer line is not from the bootstrap.
  message: z.string().max(logLimits.maxChars + 200),
  at: z.number(),
})
const runResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    value: z.unknown(),
    logs: z.array(logLineSchema).max(logLimits.maxLines + 1),
    durationMs: z.number(),
  }),
  z.object({
    ok: z.literal(false),
    error: wireErrorSchema,
    logs: z.array(logLineSchema).max(logLimits.maxLines + 1),
    durationMs: z.number(),
  }),
])
export type WireRunResult = z.infer<typeof runResultSchema>

/** What the child sends. */
export const fromChildSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('loaded'), id, error: wireErrorSchema.optional() }),
  z.object({ type: z.literal('result'), id, result: runResultSchema }),
  /** `run` itself threw (a PbjError: unknown function, input that cannot enter the isolate). */
  z.object({ type: z.literal('rejected'), id, error: wireErrorSchema }),
  z.object({
    type: z.literal('hostCall'),
    runId: id,
    callId: id,
    method: z.enum(hostMethodNames as [HostMethod, ...HostMethod[]]),
    args: z.array(z.unknown()),
  }),
  /**
   * The child runs run `runId` again from its start (see RunOptions.onRerun). The parent sends one run of a
   * function at a time today, so the child has no batch to re-run; this keeps the guarantee if that changes.
   */
  z.object({ type: z.literal('rerun'), runId: id }),
])
export type FromChild = z.infer<typeof fromChildSchema>

// Loose: fields the child does not use (the retry policy, …) pass through unchecked.
const bundleSchema = z.looseObject({
  name: z.string().min(1),
  file: z.string(),
  code: z.string(),
  trigger: z.custom<Trigger>(isObject),
  limits: z.object({ timeoutMs: z.number().optional(), memoryMb: z.number().optional() }),
  hasOnReorg: z.boolean(),
})

/** The answer to a ctx call. */
const hostReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), message: z.string(), hostErrorId: id.optional() }),
  /** The host's result could not be sent: the child hands the function something it cannot copy either. */
  z.object({ ok: z.literal('uncopyable'), message: z.string() }),
])
export type HostReply = z.infer<typeof hostReplySchema>

/** What the parent sends. */
export const toChildSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('load'), id, bundle: bundleSchema }),
  z.object({ type: z.literal('unload'), name: z.string() }),
  z.object({
    type: z.literal('run'),
    id,
    name: z.string(),
    entry: z.enum(['handler', 'onReorg']),
    input: z.custom<SandboxInput>(isObject),
    timeoutMs: z.number().optional(),
  }),
  z.object({ type: z.literal('hostReply'), callId: id, reply: hostReplySchema }),
])
export type ToChild = z.infer<typeof toChildSchema>

/** Settings the child gets on its command line. */
export const childSettingsSchema = z.object({ memoryMb: z.number().int(), timeoutMs: z.number().int() })

/** The property that tags a child-side Error with the id of the parent's host error it stands for. */
export const hostErrorIdKey = 'pbjHostErrorId'

/**
 * Flattens an error for the trip to the parent. Non-pbj errors become a plain PbjError with their message.
 *
 * @example
 * send({ type: 'rejected', id, error: toWireError(error) })
 */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof PbjError)) return { name: 'PbjError', shortMessage: messageOf(error) }
  const wire: WireError = {
    // By class, not name: a subclass crosses as its family (its retry class is the family's).
    name:
      error instanceof FunctionRunError
        ? 'FunctionRunError'
        : error instanceof SandboxCrashedError
          ? 'SandboxCrashedError'
          : error instanceof FunctionBuildError
            ? 'FunctionBuildError'
            : 'PbjError',
    shortMessage: error.shortMessage,
    meta: error.meta,
  }
  if (error instanceof FunctionRunError) wire.reason = error.reason
  if (error.details !== undefined) wire.details = error.details
  if (error.hint !== undefined) wire.hint = error.hint
  if (error.docsPath !== undefined) wire.docsPath = error.docsPath
  const hostErrorId = isObject(error.cause)
    ? (error.cause as Record<string, unknown>)[hostErrorIdKey]
    : undefined
  if (typeof hostErrorId === 'number') wire.hostErrorId = hostErrorId
  else if (error.cause !== undefined) wire.causeMessage = messageOf(error.cause)
  return wire
}

/**
 * Rebuilds an error from the child as its own class; a host-call failure gets back the very error the
 * host threw as its cause.
 *
 * @example
 * fromWireError(message.error, run.hostErrors) // FunctionRunError('host-call', …) with cause = broker error
 */
export function fromWireError(wire: WireError, hostErrors: readonly unknown[] = []): PbjError {
  const cause =
    wire.hostErrorId !== undefined
      ? hostErrors[wire.hostErrorId]
      : wire.causeMessage !== undefined
        ? new Error(wire.causeMessage)
        : undefined
  const options = {
    details: wire.details,
    hint: wire.hint,
    docsPath: wire.docsPath,
    meta: wire.meta,
    ...(cause === undefined ? {} : { cause }),
  }
  switch (wire.name) {
    case 'FunctionRunError':
      return new FunctionRunError(wire.reason ?? 'threw', wire.shortMessage, options)
    case 'SandboxCrashedError':
      return new SandboxCrashedError(wire.shortMessage, options)
    case 'FunctionBuildError':
      return new FunctionBuildError(wire.shortMessage, options)
    default:
      return new PbjError(wire.shortMessage, options)
  }
}

/**
 * A bundle as the child receives it: the parent's FunctionBundle, with the fields the child uses checked.
 *
 * @example
 * await sandbox.load(toBundle(message.bundle))
 */
export function toBundle(wire: z.infer<typeof bundleSchema>): FunctionBundle {
  const limits: FunctionBundle['limits'] = {}
  if (wire.limits.timeoutMs !== undefined) limits.timeoutMs = wire.limits.timeoutMs
  if (wire.limits.memoryMb !== undefined) limits.memoryMb = wire.limits.memoryMb
  return { ...wire, limits } as FunctionBundle
}
