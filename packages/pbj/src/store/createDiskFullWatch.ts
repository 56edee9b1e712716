import { randomUUID } from 'node:crypto'
import { unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import { DiskFullError } from '../internal/errors.js'
import type { Health } from '../internal/health.js'
import type { Logger } from '../internal/logger.js'
import { isDiskFull } from './isDiskFull.js'

/** Options of {@link createDiskFullWatch}. */
export type DiskFullWatchOptions = {
  /** The store's folder: where space must return, and where the probe writes. */
  dir: string
  health: Pick<Health, 'set'>
  logger: Pick<Logger, 'info' | 'error'>
  /** Bytes the probe must be able to write before the store counts as writable again (default 1 MiB). */
  probeBytes?: number
  /** The probe's first and longest wait, in ms (default 1 000 and 5 000). */
  probeMs?: { first: number; max: number }
}

/** One full-disk episode at a time: started by a refused write, ended by a probe that could write. */
export type DiskFullWatch = {
  /**
   * Reports a failed write. A disk-full failure starts an episode (if none is on) and returns true: wait
   * for {@link DiskFullWatch.writable}, then try again. Any other error returns false.
   */
  report(error: unknown): boolean
  /** Resolves at once outside an episode, else when space returns; rejects with DiskFullError once closed. */
  writable(): Promise<void>
  /** Whether an episode is on. */
  readonly full: boolean
  /** Ends the probing; writes still waiting fail with DiskFullError (the engine is stopping). */
  close(): void
}

/**
 * Watches the store's filesystem through a full-disk episode. The first refused write sets the health
 * check `store` false with the reason, logs ONE error (field `diskFull: true`, no stack trace: a full disk
 * is an operator's matter, not a bug), and probes the folder with backoff (1 s doubling to 5 s): a
 * throw-away file of `probeBytes` written and removed. When it can be written, the check is ok again, the
 * log says `store writable again`, and every write waiting in {@link DiskFullWatch.writable} goes on.
 *
 * The probe asks for more room than one block's commit needs, so a disk with a few bytes free does not
 * flap between episodes.
 *
 * @example
 * const watch = createDiskFullWatch({ dir: '.pbj', health, logger })
 * const store = guardStore(createSqliteStore({ path }), watch)
 */
export function createDiskFullWatch(options: DiskFullWatchOptions): DiskFullWatch {
  const { dir, health, logger } = options
  const probeBytes = options.probeBytes ?? 1024 * 1024
  const first = options.probeMs?.first ?? 1_000
  const max = options.probeMs?.max ?? 5_000
  let episode: { since: number; done: Promise<void>; end(): void; fail(e: Error): void } | null = null
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const probe = async (): Promise<boolean> => {
    const file = join(dir, `.pbj-space-probe-${randomUUID()}`)
    try {
      await writeFile(file, Buffer.alloc(probeBytes))
      return true
    } catch {
      return false
    } finally {
      await unlink(file).catch(() => {})
    }
  }

  const schedule = (attempt: number) => {
    timer = setTimeout(
      async () => {
        if (closed || !episode) return
        if (!(await probe())) return schedule(attempt + 1)
        const { since, end } = episode
        episode = null
        health.set('store', true)
        logger.info('store writable again', { diskFull: false, dir, fullForMs: Date.now() - since })
        end()
      },
      backoffDelay(attempt, { baseMs: first, maxMs: max }),
    )
    timer.unref()
  }

  return {
    report(error) {
      if (!isDiskFull(error)) return false
      if (episode || closed) return true
      const full = new DiskFullError({ dir, cause: error })
      let end = () => {}
      let fail = (_: Error) => {}
      const done = new Promise<void>((resolve, reject) => {
        end = resolve
        fail = reject
      })
      // A waiter may be left when the engine stops mid-episode; its rejection is expected.
      done.catch(() => {})
      episode = { since: Date.now(), done, end, fail }
      const cause = messageOf(error, { short: true, firstLine: true })
      health.set('store', false, `disk full: ${cause} (${dir})`)
      logger.error(full.shortMessage, { diskFull: true, dir, cause, hint: full.hint })
      schedule(1)
      return true
    },
    writable() {
      if (closed && episode) return Promise.reject(new DiskFullError({ dir }))
      return episode ? episode.done : Promise.resolve()
    },
    get full() {
      return episode !== null
    },
    close() {
      closed = true
      clearTimeout(timer)
      episode?.fail(new DiskFullError({ dir }))
    },
  }
}
