import { PbjError, type PbjErrorOptions, type RetryClass } from './base.js'
import { ConfigError } from './config.js'

/** The MQTT broker is unreachable or refused a publish. */
export class BrokerError extends PbjError {
  override name = 'BrokerError'
  override readonly retry: RetryClass = 'retryable'
}

/** Why a desired state was not published; every one is a passing fault (the outbox tries again). */
export type PublishFailure =
  | { reason: 'closed' }
  | { reason: 'not-connected' }
  | { reason: 'dropped' }
  | { reason: 'timeout'; timeoutMs: number; connected: boolean }
  | { reason: 'rejected'; cause: unknown }

const publishHint = 'Check that the broker is running and reachable.'

/** A desired state did not reach the broker (closed, not connected, dropped, unacknowledged, refused). */
export class BrokerPublishError extends BrokerError {
  override name = 'BrokerPublishError'
  readonly reason: PublishFailure['reason']
  constructor(params: { url: string; topic: string; deviceId: string; version: number } & PublishFailure) {
    super(...publishFailure(params))
    this.reason = params.reason
  }
}

function publishFailure(
  params: { url: string; topic: string; deviceId: string; version: number } & PublishFailure,
): [string, PbjErrorOptions] {
  const { url, topic, deviceId, version } = params
  const meta = { deviceId, version }
  switch (params.reason) {
    case 'closed':
      return [`cannot publish: the connection to ${url} is closed`, { meta }]
    case 'not-connected':
      return [`not connected to MQTT broker ${url}: ${topic} not published`, { hint: publishHint, meta }]
    case 'dropped':
      return [
        `the connection to MQTT broker ${url} dropped before it acknowledged ${topic}`,
        { hint: publishHint, meta },
      ]
    case 'timeout':
      return [
        `MQTT broker ${url} did not acknowledge ${topic} within ${params.timeoutMs} ms`,
        {
          details: params.connected ? 'Connected, but no PUBACK came back.' : 'Not connected to the broker.',
          hint: publishHint,
          meta,
        },
      ]
    case 'rejected':
      return [`MQTT broker ${url} rejected the publish to ${topic}`, { cause: params.cause, meta }]
  }
}

/** The broker did not accept the connection in time, or refused it (CONNACK with an error code). */
export class BrokerConnectError extends BrokerError {
  override name = 'BrokerConnectError'
  constructor(params: { url: string; timeoutMs: number; refusal: unknown; lastError: string | undefined }) {
    const { url, timeoutMs, refusal, lastError } = params
    const refused = refusal !== undefined
    super(
      refused
        ? `MQTT broker at ${url} refused the connection`
        : `cannot connect to MQTT broker at ${url} within ${timeoutMs} ms`,
      {
        cause: refusal,
        details: lastError,
        hint: refused
          ? 'Check username, password and clientId, and that the broker accepts this protocolVersion.'
          : 'Start the broker (e.g. Mosquitto), fix the url, or leave it unset to use the embedded broker.',
        meta: { url },
      },
    )
  }
}

// The failures below keep their family's name (BrokerError, ConfigError), as logs and records showed it.

/** The embedded broker could not listen on its host and port (taken, or not an address of this host). */
export class BrokerListenError extends BrokerError {
  constructor(params: { host: string; port: number; cause: unknown }) {
    const { cause } = params
    super(`embedded MQTT broker cannot listen on ${params.host}:${params.port}`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Choose another port, or leave the port unset to take a free one.',
    })
  }
}

/** `brokerUrl` is not a URL mqtt.js can connect to: the config's to fix. */
export class BrokerUrlError extends ConfigError {
  constructor(params: { url: string; cause: unknown }) {
    const { cause } = params
    super(`MQTT broker url "${params.url}" is not usable`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Use mqtt://host:port (or mqtts://, ws://, wss://).',
    })
  }
}

/** `topicPrefix` cannot make MQTT topics (wildcards, empty levels); the message is the topic builder's. */
export class TopicPrefixError extends ConfigError {
  constructor(params: { cause: unknown }) {
    const { cause } = params
    super(cause instanceof Error ? cause.message : String(cause), {
      cause,
      meta: { field: 'topicPrefix' },
      hint: 'Use a plain prefix such as "pbj" or "fleet/eu".',
    })
  }
}
