/**
 * Why a chain-level reconciliation pass ran: after start-up (the follower reached the head), after an
 * outage (the RPC or the broker came back), after a reorg, after a reorg deeper than the window, on its
 * interval, or asked for (`engine.reconcile()`); `scheduled`: the devices whose chain answer was due to
 * change by a block's time (DeviceClass ChainAnswer.changesAt), re-checked one by one.
 */
export type ReconcileReason = 'start' | 'outage' | 'reorg' | 'deepReorg' | 'periodic' | 'manual' | 'scheduled'

/**
 * One difference a reconciliation pass found between a device's stored desired state and what the chain
 * says it should be, and what came of it: `corrected` (the correction went out through the guard, signed,
 * as `version`), `refused` (the guard said no: the refusal stands, `detail` says why) or `failed` (the
 * chain or the store could not be read; the next pass tries again).
 */
export type DeviceCorrection = {
  deviceId: string
  /** Wall-clock ms of the pass. */
  at: number
  /** The head block the chain was read at. */
  blockNumber: bigint
  /** What the stored desired state meant (the device class's words, e.g. `unlocked`, `locked`, `warning`). */
  from: string
  /** What the chain says it should mean. */
  to: string
  /** Why the pass ran. */
  reason: ReconcileReason
  outcome: 'corrected' | 'refused' | 'failed'
  /** The desired version the correction got; null unless corrected. */
  version: number | null
  /** The refusal's reason code and message, or the failure; null when corrected. */
  detail: string | null
}

/** The record of corrections (`device_corrections` in SQLite), newest last; `pbj devices --corrections`. */
export type DeviceCorrectionStore = {
  record(correction: DeviceCorrection): Promise<void>
  /** The newest `limit` (default 100) corrections, optionally of one device, oldest first. */
  list(filter?: { deviceId?: string | undefined; limit?: number | undefined }): Promise<DeviceCorrection[]>
}
