import { messageOf } from '@pbj/internal/messageOf.js'
import { FunctionRunError, SandboxCrashedError } from '../internal/errors.js'

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

const catchHint = 'Catch errors you expect with try/catch; pbj records the run as failed otherwise.'

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
    return new FunctionRunError('threw', `Function '${name}' threw a non-Error value: ${thrown.text}`, {
      hint: 'Throw an Error (throw new Error("…")) so the message and stack trace are kept.',
    })
  }
  const details = thrown.stack ? mapStack(thrown.stack) : undefined
  if (thrown.hostMethod !== undefined) {
    const cause = thrown.hostId === undefined ? undefined : hostErrors[thrown.hostId]
    return new FunctionRunError(
      'host-call',
      `Function '${name}' failed in ctx.${thrown.hostMethod}(): ${thrown.message}`,
      {
        details,
        hint: catchHint,
        cause,
        meta: { method: thrown.hostMethod },
      },
    )
  }
  const what = thrown.name === 'Error' ? thrown.message : `${thrown.name}: ${thrown.message}`
  return new FunctionRunError('threw', `Function '${name}' threw: ${what}`, { details, hint: catchHint })
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
    return new FunctionRunError(
      'timeout',
      `Function '${name}' ran longer than its ${state.timeoutMs} ms timeout`,
      {
        hint:
          'Make the handler finish sooner (no busy loops, await every ctx call), or raise limits.timeoutMs in ' +
          'defineFunction({ …, limits: { timeoutMs } }).',
        cause: error,
      },
    )
  }
  if (state.disposed && message.includes('memory limit')) {
    return new FunctionRunError(
      'memory',
      `Function '${name}' used more than its ${state.memoryMb} MB memory limit`,
      {
        hint: 'Keep less data in memory, or raise limits.memoryMb in defineFunction({ …, limits: { memoryMb } }).',
        cause: error,
      },
    )
  }
  if (!state.disposed && /clone|copy|transfer/i.test(message)) {
    return new FunctionRunError(
      'invalid-result',
      `Function '${name}' returned a value that cannot leave the sandbox`,
      {
        details: message,
        hint: 'Return plain data (strings, numbers, bigints, booleans, arrays, objects) or nothing.',
        cause: error,
      },
    )
  }
  return new SandboxCrashedError(`The sandbox of function '${name}' crashed: ${message}`, { cause: error })
}
