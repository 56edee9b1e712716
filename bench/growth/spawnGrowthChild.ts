import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Logger } from '#pbj/internal/logger.js'
import type { ChildConfig, FromChild, ToChild } from './growthMessages.js'

const entry = fileURLToPath(new URL('./growthChild.ts', import.meta.url))

/** A running growth child, with a typed request/answer channel. */
export type GrowthChild = {
  send(message: ToChild): void
  /** The next message of this type (earlier ones of other types are passed to `onOther`). */
  next<type extends FromChild['type']>(
    type: type,
    timeoutMs?: number,
  ): Promise<Extract<FromChild, { type: type }>>
  pid: number
  /** Resolves once the child has exited, or after `timeoutMs`. */
  exited(timeoutMs: number): Promise<void>
  /** Kills the child if it is still running. */
  kill(): void
}

/**
 * Forks bench/growth/growthChild.ts in its own Node process (`--no-node-snapshot --expose-gc --import tsx`,
 * as isolated-vm and the CPU and memory figures need), so its RSS and CPU are one engine's alone.
 *
 * @example
 * const child = spawnGrowthChild(config, { warn: (m) => log(m) })
 * await child.next('primed')
 */
export function spawnGrowthChild(
  config: ChildConfig,
  /** Receives the child engine's first warnings. */
  logger: Pick<Logger, 'warn'>,
  execArgv: readonly string[] = [],
): GrowthChild {
  const child: ChildProcess = fork(entry, [JSON.stringify(config)], {
    execArgv: ['--no-node-snapshot', '--expose-gc', '--import', 'tsx', ...execArgv],
    // The bench's stdout carries only its JSON summary: whatever the child prints goes to stderr.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  child.stdout?.pipe(process.stderr)
  const queue: FromChild[] = []
  const waiters: ((message: FromChild) => void)[] = []
  let exited: string | undefined
  child.on('message', (message: FromChild) => {
    if (message.type === 'warning') return logger.warn(message.message)
    const waiter = waiters.shift()
    if (waiter) waiter(message)
    else queue.push(message)
  })
  const exit = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `growth child exited (${signal ?? code}) before answering`
      resolve(exited)
    }),
  )
  return {
    pid: child.pid ?? -1,
    send: (message) => child.send(message),
    async next(type, timeoutMs = 600_000) {
      const queued = queue.shift()
      const message =
        queued ??
        (await Promise.race([
          new Promise<FromChild>((resolve) => waiters.push(resolve)),
          exit.then((reason) => Promise.reject(new Error(reason))),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error(`growth child: no '${type}' within ${timeoutMs} ms`)),
              timeoutMs,
            ).unref(),
          ),
        ]))
      if (message.type !== type) throw new Error(`growth child: expected '${type}', got '${message.type}'`)
      return message as Extract<FromChild, { type: typeof type }>
    },
    exited: async (timeoutMs) => {
      await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
    },
    kill: () => {
      if (exited === undefined) child.kill('SIGKILL')
    },
  }
}
