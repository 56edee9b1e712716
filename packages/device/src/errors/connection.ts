import { messageOf } from '@pbj/internal/messageOf.js'
import { DeviceError } from '../DeviceError.js'

/**
 * A URL the car cannot connect with: not a URL, or of a scheme its client does not speak.
 *
 * @example
 * throw new InvalidUrlError({ option: 'chain.rpcUrl', url, reason: 'scheme' })
 */
export class InvalidUrlError extends DeviceError {
  override name = 'InvalidUrlError'
  constructor(params: UrlProblem) {
    super(urlMessage(params), 'cause' in params ? { cause: params.cause } : undefined)
  }
}

type UrlProblem =
  | { option: 'chain.rpcUrl'; url: string; reason: 'not-a-url'; cause: unknown }
  | { option: 'chain.rpcUrl'; url: string; reason: 'scheme' }
  | { option: 'brokerUrl'; url: string; reason: 'not-usable'; cause: unknown }

function urlMessage(params: UrlProblem): string {
  const { option, url } = params
  switch (params.reason) {
    case 'not-a-url':
      return `${option} "${url}" is not a URL`
    case 'scheme':
      return `${option} must be http(s):// or ws(s)://, got "${url}"`
    case 'not-usable':
      return `${option} "${url}" is not a usable MQTT URL: ${messageOf(params.cause)}`
  }
}

/**
 * The broker refused the car: the connection (a CONNACK code, e.g. bad credentials) or the subscription
 * to its desired topic (SUBACK 128, e.g. the ACL).
 *
 * @example
 * throw new BrokerRefusedError({ what: 'subscription', topic, qos: 128 })
 */
export class BrokerRefusedError extends DeviceError {
  override name = 'BrokerRefusedError'
  constructor(
    params:
      | { what: 'connection'; brokerUrl: string; cause: Error }
      | { what: 'subscription'; topic: string; qos: number },
  ) {
    super(
      params.what === 'connection'
        ? `broker at ${params.brokerUrl} refused the connection: ${params.cause.message}`
        : `broker refused subscription to ${params.topic} (${params.qos})`,
      params.what === 'connection' ? { cause: params.cause } : undefined,
    )
  }
}

/**
 * The agent was closed before the broker granted its subscription: `ready` rejects with this so nobody
 * waits for a car that will never be ready.
 *
 * @example
 * subscribed.cancel(new AgentClosedError({ deviceId }))
 */
export class AgentClosedError extends DeviceError {
  override name = 'AgentClosedError'
  constructor(params: { deviceId: string }) {
    super(`car ${params.deviceId} agent closed before it was ready`)
  }
}

/**
 * The car could not ask the DeviceRegistry whether a signer is an operator and has no fresh cached
 * answer: the command waits and is looked at again, never applied on a guess.
 *
 * @example
 * throw new RegistryReadError({ registry, cause: error })
 */
export class RegistryReadError extends DeviceError {
  override name = 'RegistryReadError'
  constructor(params: { registry: string; cause: unknown }) {
    super(`cannot read DeviceRegistry ${params.registry}: ${messageOf(params.cause, { short: true })}`, {
      cause: params.cause,
    })
  }
}
