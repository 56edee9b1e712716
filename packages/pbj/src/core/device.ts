/**
 * The immobilizer stage a device is told to be in, with what the car needs to check it (chain time, unix
 * seconds): `since` when the stage began on chain, `lockAt` the delinquency's lock time, the loan's policy.
 */
export type DeviceImmobilizer = {
  stage: 'none' | 'warning' | 'final-warning' | 'disable'
  since?: number
  /** With a final warning: when the warning stage began on chain (the missed due date). */
  warningSince?: number
  lockAt?: number
  policy?: {
    warningPeriod: number
    finalWarning: number
    emergencyStarts: number
    emergencyDuration: number
  }
}

/** Desired state of a device; the device reports it back as its acknowledgement. */
export type DeviceDesired = {
  locked: boolean
  reason?: string
  message?: string
  immobilizer?: DeviceImmobilizer
}
/** The desired and reported state of a device as pbj keeps it. */
export type DeviceRecord = {
  deviceId: string
  desired: DeviceDesired | null
  desiredVersion: number
  commandId: string | null
  desiredAt: number | null
  reported: { locked: boolean; message?: string | undefined } | null
  reportedVersion: number
  reportedAt: number | null
  /** Highest desired version the broker has acknowledged; below `desiredVersion` means still to deliver. */
  publishedVersion: number
  publishedAt: number | null
  /**
   * Times the desired state was sent again because the device was behind it (see createDeviceDispatcher)
   * since it last reported the desired version; `pbj devices` shows it.
   */
  corrections: number
  /** The block whose run set the current desired state; null if it was set outside a run. */
  desiredBlock: bigint | null
}
