import { FunctionRunError, InternalError } from '../internal/errors.js'
import { createSandbox } from './createSandbox.js'
import {
  type FromChild,
  hostErrorIdKey,
  type ToChild,
  toBundle,
  toChildSchema,
  toWireError,
  type WireRunResult,
} from './sandboxMessages.js'
import type { HostApi, RunResult } from './sandboxTypes.js'

type Call = { resolve: (value: unknown) => void; reject: (error: unknown) => void }

const toWireResult = (result: RunResult): WireRunResult =>
  result.ok ? result : { ...result, error: toWireError(result.error) }

/**
 * The child side of createProcessSandbox: a createSandbox driven by messages from the parent. Host calls
 * of a run go back to the parent as `hostCall` messages tagged with the run's id; a host rejection comes
 * back as an Error tagged with the id of the parent's error, so the parent can restore it as the cause.
 *
 * @example
 * const receive = serveSandbox({ memoryMb: 64, timeoutMs: 1000 }, (message) => process.send?.(message))
 * process.on('message', receive)
 */
export function serveSandbox(
  limits: { memoryMb: number; timeoutMs: number },
  send: (message: FromChild) => void,
): (message: unknown) => void {
  const sandbox = createSandbox(limits)
  const calls = new Map<number, Call>()
  let nextCall = 0

  const hostOf =
    (runId: number): HostApi =>
    (method, args) =>
      new Promise((resolve, reject) => {
        const callId = nextCall++
        calls.set(callId, { resolve, reject })
        send({ type: 'hostCall', runId, callId, method, args })
      })

  const handle = async (message: ToChild) => {
    switch (message.type) {
      case 'load':
        try {
          await sandbox.load(toBundle(message.bundle))
          send({ type: 'loaded', id: message.id })
        } catch (error) {
          send({ type: 'loaded', id: message.id, error: toWireError(error) })
        }
        return
      case 'unload':
        return sandbox.unload(message.name)
      case 'run': {
        const runId = message.id
        const options = {
          entry: message.entry,
          ...(message.timeoutMs ? { timeoutMs: message.timeoutMs } : {}),
          onRerun: () => send({ type: 'rerun', runId }),
        }
        let result: RunResult
        try {
          result = await sandbox.run(message.name, message.input, hostOf(message.id), options)
        } catch (error) {
          return send({ type: 'rejected', id: message.id, error: toWireError(error) })
        }
        try {
          send({ type: 'result', id: message.id, result: toWireResult(result) })
        } catch (error) {
          // The bootstrap only lets plain data out, so this is a safety net rather than a path.
          const invalid = new FunctionRunError(
            'invalid-result',
            `Function '${message.name}' returned a value that cannot leave the sandbox`,
            { cause: error },
          )
          send({
            type: 'result',
            id: message.id,
            result: toWireResult({ ...result, ok: false, error: invalid }),
          })
        }
        return
      }
      case 'hostReply': {
        const call = calls.get(message.callId)
        calls.delete(message.callId)
        if (!call) return
        const { reply } = message
        if (reply.ok === true) return call.resolve(reply.value)
        // A function cannot cross into the isolate: the run sees the same TypeError as for any value the
        // host returns that cannot be copied ("could not pass its arguments or result through the sandbox").
        if (reply.ok === 'uncopyable') return call.resolve(() => reply.message)
        const error = new Error(reply.message)
        if (reply.hostErrorId !== undefined) Object.assign(error, { [hostErrorIdKey]: reply.hostErrorId })
        return call.reject(error)
      }
    }
  }

  return (raw) => {
    const parsed = toChildSchema.safeParse(raw)
    // Only the parent writes to this channel; a message that does not parse is a bug there, and a loud one.
    if (!parsed.success)
      throw new InternalError(`sandbox process: invalid message from the parent: ${parsed.error.message}`)
    void handle(parsed.data)
  }
}
