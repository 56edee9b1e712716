import type { Arrivals } from './createArrivals.js'

/**
 * A baseline, running: it reacts to every CarLoan `InstallmentPaid` by publishing an unlock command on
 * `<prefix>/<loanId>/command`, and hears the car's ack on `<prefix>/<loanId>/ack`.
 */
export type RunningBaseline = {
  /**
   * When its handler started for a payment, by transaction ({@link now} ms), for baselines running in the
   * bench's process. A baseline in another process reports it in the command instead (`handlerAt`).
   */
  handlerStarted?: Arrivals<number>
  /** When it received the car's ack for a payment, by transaction. */
  acked: Arrivals<number>
  /** Stops it and releases everything it holds (sockets, child processes). Safe to call twice. */
  stop(): Promise<void>
}
