import { logLimits } from './bootstrap.js'
import type { LogLine } from './sandboxTypes.js'

const levels = new Set<unknown>(['info', 'warn', 'error'])

/** Collects one run's log lines as they arrive from the sandbox. */
export type LogBuffer = {
  push(level: unknown, message: unknown, at: unknown): void
  /** How many lines have arrived, kept or not. */
  received(): number
  /** Resolves once `count` lines have arrived, or after `waitMs`: lines travel apart from the result. */
  waitFor(count: number, waitMs?: number): Promise<void>
  /** The lines, with a closing warn line when some were dropped. */
  finish(dropped: number): LogLine[]
}

/**
 * A capped buffer for one run's logs (the sandbox caps too; this guards the host either way).
 *
 * @example
 * const logs = createLogBuffer()
 * logs.push('info', 'hello', Date.now())
 * await logs.waitFor(1)
 * logs.finish(0) // [{ level: 'info', message: 'hello', at: … }]
 */
export function createLogBuffer(maxLines: number = logLimits.maxLines): LogBuffer {
  const lines: LogLine[] = []
  let received = 0
  let extra = 0
  let waiter: { count: number; done: () => void } | undefined
  return {
    push(level, message, at) {
      received++
      if (lines.length >= maxLines) return void extra++
      lines.push({
        level: levels.has(level) ? (level as LogLine['level']) : 'info',
        message: String(message).slice(0, logLimits.maxChars + 64),
        at: typeof at === 'number' ? at : Date.now(),
      })
      if (waiter && received >= waiter.count) waiter.done()
    },
    received: () => received,
    waitFor(count, waitMs = 250) {
      if (received >= count) return Promise.resolve()
      return new Promise((resolve) => {
        const timer = setTimeout(() => waiter?.done(), waitMs)
        waiter = {
          count,
          done: () => {
            clearTimeout(timer)
            waiter = undefined
            resolve()
          },
        }
      })
    },
    finish(dropped) {
      const total = dropped + extra
      if (total === 0) return lines
      const message = `${total} more log line(s) dropped: a run keeps at most ${maxLines}`
      return [...lines, { level: 'warn', message, at: Date.now() }]
    },
  }
}
