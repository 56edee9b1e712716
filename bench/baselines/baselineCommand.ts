/**
 * The unlock command every baseline publishes for an InstallmentPaid, as JSON on `<prefix>/<loanId>/command`:
 * no signature, no device state, just enough for the car to act and for the bench to match it to its block.
 */
export type BaselineCommand = {
  unlock: true
  loanId: string
  /** The payment's transaction: the key every timing of a sample is filed under. */
  tx: string
  /** When the handler started, wall-clock ms: set only by baselines in another process (Ponder). */
  handlerAt?: number
}

/** The car's acknowledgement, published on `<prefix>/<loanId>/ack` as soon as a command arrives. */
export type BaselineAck = { tx: string; ok: true }

/** The topic the car of `loanId` takes commands on. */
export const commandTopic = (prefix: string, loanId: bigint | string): string => `${prefix}/${loanId}/command`

/** The topic the car of `loanId` acknowledges on. */
export const ackTopic = (prefix: string, loanId: bigint | string): string => `${prefix}/${loanId}/ack`
