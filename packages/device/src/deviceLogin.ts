import { utf8ToBytes } from '@noble/hashes/utils'
import { keccak256 } from './keccak256.js'
import { addressOf, recoverSigner, signDigest } from './recoverSigner.js'

/**
 * How far a login's time may be from the broker's clock, in seconds: a car's clock may be a few minutes
 * off, and a captured password is worth nothing once this has passed.
 */
export const DEVICE_LOGIN_WINDOW_S = 300

/**
 * The text a device signs to log in to a broker (EIP-191 `personal_sign`, so any Ethereum wallet or HSM can
 * make it): `pbj-mqtt-login:<deviceId>:<unix seconds>`.
 *
 * @example
 * deviceLoginText('0x7099…79c8', 1760000000) // 'pbj-mqtt-login:0x7099…79c8:1760000000'
 */
export function deviceLoginText(deviceId: string, unixSeconds: number): string {
  return `pbj-mqtt-login:${deviceId.toLowerCase()}:${unixSeconds}`
}

/**
 * The MQTT credentials a device logs in with on a broker that checks device keys (pbj's embedded broker):
 * its lowercase id as username (the client id must be the same), and as password the time and its key's
 * signature of {@link deviceLoginText}, `<unix seconds>.<0x signature>`. Nobody without the car's key can
 * make one, and there is nothing to provision: the car's address is its account. Sign afresh at every
 * (re)connect; a password is accepted for {@link DEVICE_LOGIN_WINDOW_S} either side of its time.
 *
 * @example
 * const { username, password } = deviceLogin(car.devicePrivateKey)
 * await mqtt.connectAsync(url, { clientId: username, username, password })
 */
export function deviceLogin(
  deviceKey: string,
  nowMs: number = Date.now(),
): { username: string; password: string } {
  const username = addressOf(deviceKey)
  const seconds = Math.floor(nowMs / 1000)
  const signature = signDigest(loginDigest(deviceLoginText(username, seconds)), deviceKey)
  return { username, password: `${seconds}.${signature}` }
}

/**
 * Checks a device's login (see {@link deviceLogin}): the username is a lowercase device id, the password's
 * time is within the window of `nowMs`, and its signature recovers to the username. Returns why not, or
 * null when it holds.
 *
 * @example
 * const why = verifyDeviceLogin(username, password.toString()) // null, or 'login signed 20 min ago'
 */
export function verifyDeviceLogin(
  username: string,
  password: string,
  nowMs: number = Date.now(),
): string | null {
  if (!/^0x[0-9a-f]{40}$/.test(username)) return 'the username is not a lowercase device id'
  const match = /^(\d{1,12})\.(0x[0-9a-fA-F]{130})$/.exec(password)
  if (!match) return 'the password is not <unix seconds>.<signature>'
  const seconds = Number(match[1])
  const skew = seconds - nowMs / 1000
  if (Math.abs(skew) > DEVICE_LOGIN_WINDOW_S) {
    return `the login was signed for ${Math.round(Math.abs(skew))} s ${skew < 0 ? 'ago' : 'ahead'} (window ±${DEVICE_LOGIN_WINDOW_S} s)`
  }
  const signer = recoverSigner(loginDigest(deviceLoginText(username, seconds)), match[2] as string)
  return signer === username ? null : 'the signature is not by the device key of this username'
}

/** EIP-191 version 0x45 ("personal_sign") digest of an ASCII text. */
function loginDigest(text: string): Uint8Array {
  return keccak256(utf8ToBytes(`\x19Ethereum Signed Message:\n${text.length}${text}`))
}
