import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { deviceLogin, deviceLoginText, verifyDeviceLogin } from './deviceLogin.js'

describe('deviceLogin', () => {
  const key = generatePrivateKey()
  const account = privateKeyToAccount(key)
  const now = 1_760_000_000_000

  it('signs what an Ethereum wallet signs (EIP-191), and the broker check accepts it', async () => {
    const { username, password } = deviceLogin(key, now)
    expect(username).toBe(account.address.toLowerCase())
    const [seconds, signature] = password.split('.')
    expect(signature).toBe(await account.signMessage({ message: deviceLoginText(username, Number(seconds)) }))
    expect(verifyDeviceLogin(username, password, now)).toBeNull()
    expect(verifyDeviceLogin(username, password, now + 299_000)).toBeNull()
  })

  it("refuses another key's signature, a stale or future time, and junk", () => {
    const { username, password } = deviceLogin(key, now)
    const other = deviceLogin(generatePrivateKey(), now)
    expect(verifyDeviceLogin(username, other.password, now)).toMatch(/not by the device key/)
    expect(verifyDeviceLogin(other.username, password, now)).toMatch(/not by the device key/)
    expect(verifyDeviceLogin(username, password, now + 301_000)).toMatch(/ago/)
    expect(verifyDeviceLogin(username, password, now - 301_000)).toMatch(/ahead/)
    expect(verifyDeviceLogin(username.toUpperCase(), password, now)).toMatch(/username/)
    expect(verifyDeviceLogin(username, 'secret', now)).toMatch(/password/)
  })
})
