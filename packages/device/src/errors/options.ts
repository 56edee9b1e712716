import { messageOf } from '@pbj/internal/messageOf.js'
import { DeviceError } from '../DeviceError.js'

/**
 * A topic part that would not name one device's topics: a prefix that is empty, has MQTT wildcards or
 * slashes at its ends, or a device id that is not an address. Refused so a car never subscribes wider
 * than its own topics.
 *
 * @example
 * throw new InvalidTopicError({ part: 'deviceId', value: 'car-1' })
 */
export class InvalidTopicError extends DeviceError {
  override name = 'InvalidTopicError'
  constructor(params: { part: 'topicPrefix' | 'deviceId'; value: string }) {
    super(
      params.part === 'topicPrefix'
        ? `topicPrefix "${params.value}" is not usable: it must be non-empty, without + # or a leading/trailing /`
        : `deviceId must be a 0x address, got "${params.value}"`,
    )
  }
}

/**
 * The operator check's limits (signer cache size, unknown-signer lookup budget) failed their schema.
 *
 * @example
 * throw new InvalidLimitsError({ problems: z.prettifyError(parsed.error) })
 */
export class InvalidLimitsError extends DeviceError {
  override name = 'InvalidLimitsError'
  constructor(params: { problems: string }) {
    super(`operator check limits are invalid: ${params.problems}`)
  }
}

/**
 * The car's state file exists but cannot be read (permissions, a directory, I/O). A missing file is a
 * fresh car and an unparsable one starts at version 0; this one is neither, so the agent does not start.
 *
 * @example
 * throw new StateFileError({ file, cause })
 */
export class StateFileError extends DeviceError {
  override name = 'StateFileError'
  constructor(params: { file: string; cause: unknown }) {
    super(`cannot read stateFile ${params.file}: ${messageOf(params.cause)}`, { cause: params.cause })
  }
}
