import { describe, expect, it } from 'vitest'
import { urlOrigin, withUrlOrigins } from './urlOrigin.js'

describe('urlOrigin', () => {
  it('keeps scheme, host and port, and drops credentials, paths and queries', () => {
    expect(urlOrigin('https://mainnet.infura.io/v3/abc123')).toBe('https://mainnet.infura.io')
    expect(urlOrigin('wss://eth.example/ws?key=s3cret')).toBe('wss://eth.example')
    expect(urlOrigin('mqtt://pbj:secret@127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883')
    expect(urlOrigin('not a url')).toBe('(an unparsable URL)')
  })
  it('cuts every URL in a text to its origin', () => {
    expect(
      withUrlOrigins(
        'No answer from https://rpc.example/v3/abc within 10000 ms (eth_chainId); mqtt://u:p@b:1883 down',
      ),
    ).toBe('No answer from https://rpc.example within 10000 ms (eth_chainId); mqtt://b:1883 down')
  })
})
