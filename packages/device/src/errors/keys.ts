import { messageOf } from '@pbj/internal/messageOf.js'
import { DeviceError } from '../DeviceError.js'

/**
 * Bytes that are not a secp256k1 private key. `format`: not `0x` and 64 hex digits; `range`: 32 bytes, but
 * not in [1, n-1].
 *
 * @example
 * throw new InvalidPrivateKeyError({ reason: 'range', cause })
 */
export class InvalidPrivateKeyError extends DeviceError {
  override name = 'InvalidPrivateKeyError'
  readonly reason: 'format' | 'range'
  constructor(params: { reason: 'format' | 'range'; cause?: unknown }) {
    super(
      params.reason === 'format'
        ? 'a private key must be 0x followed by 64 hex digits'
        : 'not a secp256k1 private key: 32 bytes in [1, n-1] expected',
      params.cause === undefined ? undefined : { cause: params.cause },
    )
    this.reason = params.reason
  }
}

/**
 * A digest handed to sign or recover that is not 32 bytes: signing anything else would sign a value no
 * verifier computes.
 *
 * @example
 * throw new InvalidDigestError({ length: digest.length })
 */
export class InvalidDigestError extends DeviceError {
  override name = 'InvalidDigestError'
  constructor(params: { length: number }) {
    super(`a digest is 32 bytes, got ${params.length}`)
  }
}

/**
 * `PBJ_SECP256K1=native` asked for the native binding and it cannot be loaded; pbj does not fall back
 * silently when the operator asked for it by name.
 *
 * @example
 * throw new NativeSecp256k1Error()
 */
export class NativeSecp256k1Error extends DeviceError {
  override name = 'NativeSecp256k1Error'
  constructor() {
    super('PBJ_SECP256K1=native, but the secp256k1 package’s native binding cannot be loaded')
  }
}

/**
 * The agent's `deviceKey` is not a private key, or `deviceId` is not its address: a car that signed with
 * one key and answered to another address would have all its reports refused.
 *
 * @example
 * throw new DeviceKeyError({ reason: 'mismatch', deviceId: options.deviceId, address })
 */
export class DeviceKeyError extends DeviceError {
  override name = 'DeviceKeyError'
  constructor(
    params:
      | { reason: 'not-a-key'; cause: unknown }
      | { reason: 'mismatch'; deviceId: string; address: string },
  ) {
    super(
      params.reason === 'not-a-key'
        ? `deviceKey is not a private key: ${messageOf(params.cause)}`
        : `deviceId ${params.deviceId} is not the address of deviceKey (${params.address})`,
      params.reason === 'not-a-key' ? { cause: params.cause } : undefined,
    )
  }
}
