import { PbjError, type RetryClass } from './base.js'

/** The MQTT broker is unreachable or refused a publish. */
export class BrokerError extends PbjError {
  override name = 'BrokerError'
  override readonly retry: RetryClass = 'retryable'
}
