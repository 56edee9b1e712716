import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { messageOf } from '@pbj/internal/messageOf.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import type { Emitter } from '../../internal/createEmitter.js'
import type { Logger } from '../../internal/logger.js'

/**
 * Options of {@link createCorrections}: the dispatcher's, resolved (see DeviceDispatcherOptions.correction).
 *
 * @example
 * const options: CorrectionsOptions = { store, events, logger, dispatch: outbox.dispatch, minMs: 1_000, maxMs: 60_000 }
 */
export type CorrectionsOptions = {
  store: Pick<Store, 'getDevice' | 'getDevices' | 'markCorrected'>
  events: Pick<Emitter<Pick<EngineEvents, 'device:corrected'>>, 'emit'>
  logger: Pick<Logger, 'warn'>
  /** Hands the device to the outbox again (forced when the broker already acknowledged its version). */
  dispatch(deviceId: string, options: { force: boolean }): void
  /** The wait after a device's report before it is sent its desired state again, doubling while it stays behind. */
  minMs: number
  maxMs: number
}

/**
 * Devices behind their desired version, each with its own backoff. See {@link createCorrections}.
 *
 * @example
 * broker.onReported(corrections.onReport)
 * await corrections.correctIfDue(deviceId, reportedVersion)
 */
export type Corrections = {
  /**
   * A device's signed report: one behind its desired version is scheduled to be sent it again; one that
   * caught up ends its correction and its backoff.
   */
  onReport(report: { deviceId: string; version: number }): void
  /**
   * For reconciliation: the store says the device has not reported its acknowledged desired version. Sends
   * it again now if its backoff allows (returns true if it did), else schedules it for when it does.
   */
  correctIfDue(deviceId: string, reportedVersion: number): Promise<boolean>
  /** Cancels every scheduled correction and forgets the backoffs. */
  close(): void
}

/** A device behind its desired version, and when it may be sent it again. */
type Correction = {
  /** Corrections sent so far that set a wait: the wait after the next one doubles with each. */
  waits: number
  /** Not sent again before this (ms epoch). */
  nextAt: number
  reportedVersion: number
  reason: 'report' | 'reconcile'
  attempts: number
  timer?: NodeJS.Timeout | undefined
}

/**
 * Brings back devices whose own signed report (or, for reconciliation, the store) says they are behind
 * their desired version: the broker's acknowledgement is not delivery, since a retained message can be
 * cleared or replaced while the car is offline and a restarted broker forgets it. Each such device is sent
 * its desired state again `minMs` after the report, then with a wait doubling per device up to `maxMs`
 * while it stays behind, reset once it catches up; 'device:corrected' is emitted for each.
 *
 * @example
 * const corrections = createCorrections({ store, events, logger, dispatch, minMs: 1_000, maxMs: 60_000 })
 * broker.onReported(corrections.onReport)
 */
export function createCorrections(options: CorrectionsOptions): Corrections {
  const { store, events, logger, dispatch, minMs, maxMs } = options
  // Devices known to be behind their desired version, with their correction backoff. An entry lives until
  // the device reports that it caught up, so the delay keeps doubling while it does not.
  const corrections = new Map<string, Correction>()
  let closed = false

  const stopCorrecting = (deviceId: string) => {
    const correction = corrections.get(deviceId)
    if (!correction) return
    clearTimeout(correction.timer)
    corrections.delete(deviceId)
  }

  /** Sends the device its desired state again now (forced: the broker may hold it, the car did not get it). */
  const correctNow = async (deviceId: string, correction: Correction): Promise<boolean> => {
    const device = await store.getDevice(deviceId)
    if (closed || corrections.get(deviceId) !== correction) return false
    // A report's version is the device's word (a car that lost its state reports less than the store keeps);
    // reconciliation goes by the store, which a report since may have moved on.
    const reported =
      correction.reason === 'report'
        ? correction.reportedVersion
        : Math.max(correction.reportedVersion, device?.reportedVersion ?? 0)
    if (!device?.desired || reported >= device.desiredVersion) {
      stopCorrecting(deviceId)
      return false
    }
    const waitMs = backoffDelay(++correction.waits, { baseMs: minMs, maxMs, jitter: 'none' })
    correction.nextAt = Date.now() + waitMs
    // Not yet acknowledged by the broker: the outbox delivers it, no force needed.
    const force = device.publishedVersion >= device.desiredVersion
    // Counted before it is sent, and announced as it is sent: the device's report of it can never be heard
    // before the correction that caused it.
    await store.markCorrected(deviceId)
    if (closed || corrections.get(deviceId) !== correction) return false
    dispatch(deviceId, { force })
    events.emit('device:corrected', {
      deviceId,
      desiredVersion: device.desiredVersion,
      reportedVersion: correction.reportedVersion,
      reason: correction.reason,
      attempt: ++correction.attempts,
    })
    return true
  }

  /**
   * A device is behind its desired version (as of its report, or of the store for reconciliation): send it
   * again at its next allowed time, unless a correction is already scheduled. True when a reconciliation
   * may send it right now (the caller then does, with correctNow).
   */
  const behind = (deviceId: string, reportedVersion: number, reason: Correction['reason']) => {
    let correction = corrections.get(deviceId)
    if (!correction) {
      correction = {
        waits: 0,
        // The first correction waits too: a command published a moment ago may be on its way.
        nextAt: reason === 'report' ? Date.now() + minMs : Date.now(),
        reportedVersion,
        reason,
        attempts: 0,
      }
      corrections.set(deviceId, correction)
    }
    correction.reportedVersion = reportedVersion
    correction.reason = reason
    if (correction.timer) return false
    const wait = correction.nextAt - Date.now()
    const entry = correction
    if (wait <= 0 && reason === 'reconcile') return true
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined
        void correctNow(deviceId, entry).catch((error: unknown) => {
          if (!closed) logger.warn(`device ${deviceId}: not corrected: ${messageOf(error)}`, { deviceId })
        })
      },
      Math.max(0, wait),
    )
    entry.timer.unref()
    return false
  }

  let reports: { deviceId: string; version: number }[] = []
  const judgeReports = () => {
    const taken = reports
    reports = []
    if (closed) return
    void store.getDevices([...new Set(taken.map((r) => r.deviceId))]).then(
      (devices) => {
        const byId = new Map(devices.map((device) => [device.deviceId, device]))
        for (const report of taken) {
          const device = byId.get(report.deviceId)
          if (!device?.desired || report.version >= device.desiredVersion) stopCorrecting(report.deviceId)
          else behind(report.deviceId, report.version, 'report')
        }
      },
      (error: unknown) => {
        if (!closed)
          logger.warn(`devices ${taken.length}: cannot read their desired states: ${messageOf(error)}`, {
            deviceIds: taken.map((r) => r.deviceId).join(','),
          })
      },
    )
  }

  return {
    onReport(report) {
      if (closed) return
      // The reports of one turn are looked up together: a fleet's thousand reports cost a few reads of the
      // store, not one each (each was ~0.2 ms of the event loop in the fleet benchmark's lock window).
      if (reports.length === 0) setImmediate(judgeReports)
      reports.push(report)
    },
    async correctIfDue(deviceId, reportedVersion) {
      if (!behind(deviceId, reportedVersion, 'reconcile')) return false
      const correction = corrections.get(deviceId)
      return correction ? correctNow(deviceId, correction) : false
    },
    close() {
      closed = true
      for (const correction of corrections.values()) clearTimeout(correction.timer)
      corrections.clear()
    },
  }
}
