import type { DesiredMessage, ReportedMessage } from '@pbj/device'

/**
 * The engine's side of the device transport. MQTT implements it today ({@link createMqttBroker}); any
 * transport that can deliver a retained desired state and stream reports back can plug in.
 *
 * @example
 * const broker: BrokerConnection = await createMqttBroker({ url: 'mqtt://127.0.0.1:1883', protocolVersion: 5 })
 * const stop = broker.onReported((report, receivedAt) => acks.settle(report, receivedAt))
 * broker.onConnect(() => void outbox.sweep())
 * await broker.publishDesired(message)
 */
export type BrokerConnection = {
  /**
   * Publishes the device's desired state, retained so an offline device gets it on reconnect. Resolves
   * when the broker has it (PUBACK, or an embedded broker of this process taking it in-process); rejects
   * with BrokerError at once when not connected, when the connection drops before the PUBACK, or when the
   * PUBACK does not come within the timeout.
   */
  publishDesired(message: DesiredMessage): Promise<void>
  /**
   * Calls `listener` each time the publishing side reconnects to the broker (after the connection the
   * factory waited for), once anything it had in flight was re-sent: the moment to deliver what an outage
   * held back. Returns the function that stops listening.
   */
  onConnect(listener: () => void): () => void
  /**
   * Calls `listener` with `true` when both connections (commands out, reports in) are up again and `false`
   * when either drops: the `broker` health check. Returns the function that stops listening.
   */
  onConnectionChange(listener: (connected: boolean) => void): () => void
  /**
   * Listens to every device's report. The first listener subscribes, so it also receives the retained last
   * report of each device; malformed reports, and reports whose signature does not recover to their
   * device's id, are dropped with a warning. Returns the unsubscribe function.
   */
  onReported(listener: ReportedListener): () => void
  /** Disconnects; pending publishes get a short grace period to be acknowledged. */
  close(): Promise<void>
}

/**
 * Receives a device report and the local time (ms epoch) it arrived, for latency accounting.
 *
 * @example
 * const listener: ReportedListener = (report, receivedAt) => console.log(report.version, receivedAt)
 */
export type ReportedListener = (message: ReportedMessage, receivedAt: number) => void
