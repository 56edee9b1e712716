import { describe, expect, it } from 'vitest'
import { DeviceError } from '../DeviceError.js'
import { AgentClosedError, BrokerRefusedError, InvalidUrlError, RegistryReadError } from './connection.js'
import { DeviceKeyError, InvalidDigestError, InvalidPrivateKeyError, NativeSecp256k1Error } from './keys.js'
import { InvalidLimitsError, InvalidTopicError, StateFileError } from './options.js'
import { InvalidDomainError, InvalidFieldError, MerkleTreeError } from './typedData.js'

const car = '0xab5801a7d398351b8be11c439e05c5b3259aec9b'
const cause = Object.assign(new Error('long text\nwith details'), { shortMessage: 'short text' })

describe('device errors', () => {
  // The texts users, logs and tests see are the ones the ad-hoc `new DeviceError('…')` calls wrote.
  const cases: [DeviceError, string, string][] = [
    [
      new InvalidPrivateKeyError({ reason: 'format' }),
      'InvalidPrivateKeyError',
      'a private key must be 0x followed by 64 hex digits',
    ],
    [
      new InvalidPrivateKeyError({ reason: 'range', cause }),
      'InvalidPrivateKeyError',
      'not a secp256k1 private key: 32 bytes in [1, n-1] expected',
    ],
    [new InvalidDigestError({ length: 31 }), 'InvalidDigestError', 'a digest is 32 bytes, got 31'],
    [
      new NativeSecp256k1Error(),
      'NativeSecp256k1Error',
      'PBJ_SECP256K1=native, but the secp256k1 package’s native binding cannot be loaded',
    ],
    [
      new DeviceKeyError({ reason: 'not-a-key', cause }),
      'DeviceKeyError',
      'deviceKey is not a private key: long text\nwith details',
    ],
    [
      new DeviceKeyError({ reason: 'mismatch', deviceId: '0x01', address: car }),
      'DeviceKeyError',
      `deviceId 0x01 is not the address of deviceKey (${car})`,
    ],
    [
      new InvalidFieldError({ field: { name: 'to', type: 'address' }, value: 7 }),
      'InvalidFieldError',
      'to must be a 0x address, got 7',
    ],
    [
      new InvalidFieldError({ field: { name: 'root', type: 'bytes32' }, value: '0x00' }),
      'InvalidFieldError',
      'root must be 32 bytes, got 0x00',
    ],
    [
      new InvalidFieldError({ field: { name: 'e', type: 'uint64' }, value: -1 }),
      'InvalidFieldError',
      'e is not a valid uint64: -1',
    ],
    [
      new InvalidDomainError({ field: 'chainId', value: 0 }),
      'InvalidDomainError',
      'chainId must be a positive integer, got 0',
    ],
    [
      new InvalidDomainError({ field: 'registry', value: 'x' }),
      'InvalidDomainError',
      `registry must be the DeviceRegistry's 0x address, got "x"`,
    ],
    [new MerkleTreeError({ reason: 'empty' }), 'MerkleTreeError', 'a Merkle tree needs at least one leaf'],
    [
      new MerkleTreeError({ reason: 'no-leaf', index: 13, leaves: 8 }),
      'MerkleTreeError',
      'no leaf 13 in a tree of 8',
    ],
    [
      new InvalidUrlError({ option: 'chain.rpcUrl', url: 'x', reason: 'not-a-url', cause }),
      'InvalidUrlError',
      'chain.rpcUrl "x" is not a URL',
    ],
    [
      new InvalidUrlError({ option: 'chain.rpcUrl', url: 'ftp://h', reason: 'scheme' }),
      'InvalidUrlError',
      'chain.rpcUrl must be http(s):// or ws(s)://, got "ftp://h"',
    ],
    [
      new InvalidUrlError({ option: 'brokerUrl', url: 'x', reason: 'not-usable', cause }),
      'InvalidUrlError',
      'brokerUrl "x" is not a usable MQTT URL: long text\nwith details',
    ],
    [
      new BrokerRefusedError({ what: 'connection', brokerUrl: 'mqtt://b', cause }),
      'BrokerRefusedError',
      'broker at mqtt://b refused the connection: long text\nwith details',
    ],
    [
      new BrokerRefusedError({ what: 'subscription', topic: 't', qos: 128 }),
      'BrokerRefusedError',
      'broker refused subscription to t (128)',
    ],
    [
      new AgentClosedError({ deviceId: car }),
      'AgentClosedError',
      `car ${car} agent closed before it was ready`,
    ],
    [
      new RegistryReadError({ registry: car, cause }),
      'RegistryReadError',
      `cannot read DeviceRegistry ${car}: short text`,
    ],
    [
      new InvalidTopicError({ part: 'topicPrefix', value: 'a/' }),
      'InvalidTopicError',
      'topicPrefix "a/" is not usable: it must be non-empty, without + # or a leading/trailing /',
    ],
    [
      new InvalidTopicError({ part: 'deviceId', value: 'car-1' }),
      'InvalidTopicError',
      'deviceId must be a 0x address, got "car-1"',
    ],
    [
      new InvalidLimitsError({ problems: '✖ too big' }),
      'InvalidLimitsError',
      'operator check limits are invalid: ✖ too big',
    ],
    [
      new StateFileError({ file: '/s.json', cause }),
      'StateFileError',
      'cannot read stateFile /s.json: long text\nwith details',
    ],
  ]

  it.each(cases)('%s is a DeviceError named %s with its message', (error, name, message) => {
    expect(error).toBeInstanceOf(DeviceError)
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe(name)
    expect(error.message).toBe(message)
  })

  it('keeps the cause it was given, and none otherwise', () => {
    expect(new RegistryReadError({ registry: car, cause }).cause).toBe(cause)
    expect(new StateFileError({ file: '/s.json', cause }).cause).toBe(cause)
    expect(new InvalidPrivateKeyError({ reason: 'range', cause }).cause).toBe(cause)
    expect('cause' in new InvalidPrivateKeyError({ reason: 'range' })).toBe(false)
    expect('cause' in new DeviceKeyError({ reason: 'mismatch', deviceId: '0x01', address: car })).toBe(false)
  })
})
