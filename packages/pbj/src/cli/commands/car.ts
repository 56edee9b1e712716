import { addressOf, startSimulatedCar } from '@pbj/device'
import { createPublicClient, http, webSocket } from 'viem'
import {
  CarLoginError,
  ChainUnreachableError,
  InvalidFlagError,
  MissingArgumentError,
} from '../../internal/errors.js'
import { driveFromKeyboard } from '../driveFromKeyboard.js'

/**
 * `pbj car --broker mqtt://… --key 0x… --rpc http://… --registry 0x… [--chain-id 31337]`: a simulated car
 * that applies only lock/unlock commands signed by one of its operators in DeviceRegistry, and signs its
 * reports with its key (whose address is its id). `--chain-id` is read from the node when omitted;
 * `--device`, if given, must be the key's address.
 *
 * @example
 * await carCommand({ broker: 'mqtt://127.0.0.1:1883', key: '0x…', rpc: 'http://127.0.0.1:8545', registry: '0x…' })
 */
export async function carCommand(o: {
  broker?: string | undefined
  device?: string | undefined
  key?: string | undefined
  rpc?: string | undefined
  registry?: string | undefined
  'chain-id'?: string | undefined
  prefix?: string | undefined
  mqtt5?: boolean | undefined
  'emergency-code'?: string | undefined
  username?: string | undefined
  loans?: string | undefined
}) {
  const hint =
    'Run `pbj dev` and copy what it prints, e.g. pbj car --broker mqtt://127.0.0.1:1883 --key <device key> --rpc http://127.0.0.1:8545 --registry <DeviceRegistry>'
  if (!o.broker) throw new MissingArgumentError({ command: 'car', needs: '--broker', hint })
  if (!o.key) {
    throw new MissingArgumentError({
      command: 'car',
      needs: '--key',
      why: 'the car signs its reports with its own key, and its id is its address',
      hint,
    })
  }
  if (!o.rpc || !o.registry) {
    throw new MissingArgumentError({
      command: 'car',
      needs: '--rpc and --registry',
      why: 'it checks who signed each command in DeviceRegistry',
      hint,
    })
  }
  let deviceId: string
  try {
    deviceId = addressOf(o.key)
  } catch {
    throw new InvalidFlagError({
      flag: '--key',
      value: undefined,
      expected: 'a private key',
      hint: 'Pass the device key as 0x followed by 64 hex digits.',
    })
  }
  const chainId = o['chain-id'] ? Number(o['chain-id']) : await readChainId(o.rpc)
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InvalidFlagError({ flag: '--chain-id', value: o['chain-id'], expected: 'a positive integer' })
  }
  const car = await startSimulatedCar({
    brokerUrl: o.broker,
    deviceKey: o.key,
    ...(o.device ? { deviceId: o.device } : {}),
    chain: { rpcUrl: o.rpc, chainId, registry: o.registry, ...(o.loans ? { loans: o.loans } : {}) },
    ...(o.prefix ? { topicPrefix: o.prefix } : {}),
    protocolVersion: o.mqtt5 ? 5 : 4,
    // A broker with a password file (Mosquitto, docs/mosquitto): the car's user and its password, from the
    // environment so it stays out of the process list. Without them the car logs in with its key.
    ...carLogin(o.username, deviceId),
    print: (line) => process.stdout.write(`${line}\n`),
    ...(o['emergency-code'] ? { emergencyCode: o['emergency-code'] } : {}),
    onRejected: (reason) => process.stderr.write(`car ${deviceId}: refused a command: ${reason}\n`),
  })
  process.stdout.write(
    `car ${deviceId} connected to ${o.broker}; applying commands signed by its operators in DeviceRegistry ${o.registry} (chain ${chainId}); Ctrl-C to stop\n`,
  )
  // On a terminal: keys for the ignition, driving and the emergency code (the immobilizer's inputs).
  const stopKeys = driveFromKeyboard(car, {
    print: (line) => process.stdout.write(`${line}\n`),
    code: o['emergency-code'],
  })
  await new Promise<void>((resolve) => {
    process.on('SIGINT', resolve)
    process.on('SIGTERM', resolve)
  })
  stopKeys()
  await car.close()
  return 0
}

/** `--username` and PBJ_CAR_PASSWORD, both or neither; the username must be the car's id (the ACL's %u). */
function carLogin(username: string | undefined, deviceId: string): { username?: string; password?: string } {
  const password = process.env.PBJ_CAR_PASSWORD
  if (username === undefined && password === undefined) return {}
  if (username === undefined || password === undefined) {
    throw new CarLoginError({ problem: 'half' })
  }
  if (username.toLowerCase() !== deviceId.toLowerCase()) {
    throw new CarLoginError({ problem: 'not-the-car', username, deviceId })
  }
  return { username: username.toLowerCase(), password }
}

async function readChainId(rpcUrl: string): Promise<number> {
  try {
    const transport = rpcUrl.startsWith('ws') ? webSocket(rpcUrl) : http(rpcUrl)
    return await createPublicClient({ transport }).getChainId()
  } catch (cause) {
    throw new ChainUnreachableError({
      rpcUrl,
      what: 'the chain id',
      cause,
      hint: 'Check --rpc, or pass --chain-id.',
    })
  }
}
