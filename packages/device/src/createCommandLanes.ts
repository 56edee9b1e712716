import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { createLock } from '@pbj/internal/createLock.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import type { AppliedView, CommandGate } from './createCommandGate.js'
import type { DesiredMessage } from './protocol.js'
import type { RefusalCode } from './verifyDesired.js'

/**
 * Where a car's desired messages wait to be judged. See {@link createCommandLanes}.
 *
 * @example
 * client.on('message', (topic, payload) => topic === desiredTopic && lanes.receive(payload))
 */
export type CommandLanes = {
  /** A desired message arrived; a newer one ends the wait of a command whose signer could not be checked. */
  receive(payload: Uint8Array): void
  /** Drops what waits in the bounded lane and resolves once what is being judged is done. */
  close(): Promise<void>
}

/**
 * Options of {@link createCommandLanes}.
 *
 * @example
 * const options: CommandLanesOptions = { deviceId, gate, applied, apply, reject, isClosed: () => closed, warn }
 */
export type CommandLanesOptions = {
  deviceId: string
  gate: CommandGate
  /** What the car applied, that a command is ordered against (stale and replayed ones are refused). */
  applied: () => AppliedView
  /** A command that passed every check. */
  apply: (message: DesiredMessage) => void
  /** A command refused, with why; `tellEngine` says whether the engine should hear of it. */
  reject: (reason: string, raw: unknown, code: RefusalCode, tellEngine: boolean) => void
  isClosed: () => boolean
  warn: (message: string) => void
  /** How many messages from signers the car does not know as operators may wait. Default 1024. */
  maxQueuedUnknown?: number | undefined
}

/**
 * Two lanes, so that a flood of validly signed junk never delays the car's operator. A message naming a
 * signer the car knows as its operator is judged at once, in arrival order behind the other such messages
 * only (the registry check is async, and a command must be weighed against the state the one before it
 * left). Everything else (strangers, junk, an operator the car has not met yet) waits in a bounded queue
 * judged one message per turn of the event loop, so reading the socket, and with it a genuine command,
 * always gets in between. Which lane is picked by the signer the message names, before any signature
 * check: a forgery naming the operator takes the first lane and is refused there for its signature, at no
 * RPC. Both lanes order against what is applied when the verdict is in, so versions only go forward
 * whichever lane a command came through.
 *
 * @example
 * const lanes = createCommandLanes({ deviceId, gate, applied: () => ({ version, commandIds }), apply, reject, isClosed, warn })
 */
export function createCommandLanes(options: CommandLanesOptions): CommandLanes {
  const { gate, deviceId, isClosed } = options
  const inbox = createLock()
  // `retries`: how often a message was looked at again because its signer could not be checked (1 s → 30 s).
  const unknown: { payload: Uint8Array; seq: number; retries: number }[] = []
  const maxQueuedUnknown = Math.max(1, options.maxQueuedUnknown ?? 1_024)
  let draining: Promise<void> | null = null
  let received = 0
  let retryTimer: NodeJS.Timeout | undefined

  const handled = (payload: Uint8Array, seq: number, retries: number) =>
    handle(payload, seq, retries).catch((cause: unknown) => {
      options.warn(`car ${deviceId}: desired message not handled: ${messageOf(cause)}`)
    })
  const drain = async () => {
    for (let next = unknown.shift(); next && !isClosed(); next = unknown.shift()) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (!isClosed()) await handled(next.payload, next.seq, next.retries)
    }
    draining = null
  }
  const enqueue = (payload: Uint8Array, seq: number, retries: number) => {
    if (gate.fromKnownOperator(payload)) {
      void inbox.run(() => handled(payload, seq, retries))
      return
    }
    if (unknown.length >= maxQueuedUnknown) {
      const reason = `${maxQueuedUnknown} messages from signers this car does not know as operators are already waiting; dropped`
      options.reject(reason, payload, 'overloaded', false)
      return
    }
    unknown.push({ payload, seq, retries })
    draining ??= drain()
  }
  const handle = async (payload: Uint8Array, seq: number, retries: number) => {
    const checked = await gate.check(payload)
    if (isClosed()) return
    let verdict = gate.order(checked, options.applied())
    if (verdict.ok && verdict.message.state.locked) {
      // The car's own loan read (when it knows its loan) waits on the node: order again after it, as a
      // command of the other lane may have been applied meanwhile.
      verdict = await gate.confirmLock(verdict)
      if (isClosed()) return
      verdict = gate.order(verdict, options.applied())
    }
    if (verdict.ok) return options.apply(verdict.message)
    options.reject(verdict.reason, verdict.raw, verdict.code, verdict.tellEngine)
    if (verdict.code === 'unverifiable' && seq === received) {
      // The registry was out of reach, not the command at fault: look again later, unless a newer one came.
      retryTimer = setTimeout(
        () => {
          if (seq === received && !isClosed()) enqueue(payload, seq, retries + 1)
        },
        backoffDelay(retries + 1, { baseMs: 1_000, maxMs: 30_000, jitter: 'none' }),
      )
      retryTimer.unref()
    }
  }

  return {
    receive(payload) {
      clearTimeout(retryTimer)
      enqueue(payload, ++received, 0)
    },
    async close() {
      clearTimeout(retryTimer)
      unknown.length = 0
      await inbox.idle()
      await draining
    },
  }
}
