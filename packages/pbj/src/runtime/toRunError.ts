import { messageOf } from '@pbj/internal/messageOf.js'
import {
  FunctionFailedError,
  type FunctionRunError,
  type SandboxCrashedError,
  SandboxLostError,
} from '../internal/errors.js'

/** What the bootstrap reports about a thrown value (see bootstrap.ts). */
export type Thrown =
  | {
      kind: 'error'
      name: string
      message: string
      stack?: string | undefined
      hostMethod?: string | undefined
      hostId?: number | undefined
    }
  | { kind: 'value'; text: string }

/**
 * Turns what a function threw into a FunctionRunError: `'host-call'` when it is the unhandled rejection of
 * a ctx call (the host's error is the cause), `'threw'` otherwise.
 *
 * @example
 * thrownToError('lockCar', { kind: 'value', text: '42' }, (s) => s, [])
 * // FunctionRunError('threw', "Function 'lockCar' threw a non-Error value: 42")
 */
export function thrownToError(
  name: string,
  thrown: Thrown,
  mapStack: (stack: string) => string,
  hostErrors: readonly unknown[],
): FunctionRunError {
  if (thrown.kind === 'value') {
    return new FunctionFailedError({ functionName: name, reason: 'threw', value: thrown.text })
  }
  const details = thrown.stack ? mapStack(thrown.stack) : undefined
  if (thrown.hostMethod !== undefined) {
    const cause = thrown.hostId === undefined ? undefined : hostErrors[thrown.hostId]
    return new FunctionFailedError({
      functionName: name,
      reason: 'host-call',
      method: thrown.hostMethod,
      message: thrown.message,
      details,
      cause,
    })
  }
  return new FunctionFailedError({
    functionName: name,
    reason: 'threw',
    errorName: thrown.name,
    message: thrown.message,
    details,
  })
}

/**
 * Classifies a failure of the sandbox call itself (the isolate ended or a value could not be copied).
 *
 * @example
 * failureToError('lockCar', error, { timedOut: true, disposed: true, timeoutMs: 1000, memoryMb: 64 })
 */
export function failureToError(
  name: string,
  error: unknown,
  state: { timedOut: boolean; disposed: boolean; timeoutMs: number; memoryMb: number },
): FunctionRunError | SandboxCrashedError {
  const message = messageOf(error)
  if (state.timedOut) {
    return new FunctionFailedError({
      functionName: name,
      reason: 'timeout',
      timeoutMs: state.timeoutMs,
      cause: error,
    })
  }
  if (state.disposed && message.includes('memory limit')) {
    return new FunctionFailedError({
      functionName: name,
      reason: 'memory',
      memoryMb: state.memoryMb,
      cause: error,
    })
  }
  if (!state.disposed && /clone|copy|transfer/i.test(message)) {
    return new FunctionFailedError({
      functionName: name,
      reason: 'invalid-result',
      details: message,
      cause: error,
    })
  }
  return new SandboxLostError(
    { problem: 'isolate-crashed', functionName: name, reason: message },
    { cause: error },
  )
}
