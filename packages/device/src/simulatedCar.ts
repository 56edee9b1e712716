import {
  createDeviceAgent,
  type DeviceAgent,
  type DeviceAgentOptions,
  type DeviceState,
} from './createDeviceAgent.js'
import { dashboardLine } from './dashboardLine.js'
import { addressOf } from './recoverSigner.js'

/**
 * Options of {@link startSimulatedCar}: the agent's options plus where its dashboard lines go.
 *
 * @example
 * const options: SimulatedCarOptions = { brokerUrl, deviceKey, chain, print: (line) => log.push(line) }
 */
export type SimulatedCarOptions = DeviceAgentOptions & {
  /** Receives one readable line per lock, unlock, warning or emergency restart; defaults to console.log. */
  print?: (line: string) => void
}

/**
 * Starts a car that exists only in this process: a device agent whose "dashboard" prints a line whenever
 * the car locks (with the message it shows the driver) or unlocks.
 *
 * @example
 * const car = await startSimulatedCar({
 *   brokerUrl: broker.url,
 *   deviceKey: car.devicePrivateKey,
 *   chain: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, registry: contracts.DeviceRegistry },
 * })
 * // 🔒 car 0x70997970…79c8: You missed your car payment and the vehicle is locked. Please reload your car's wallet.
 * // 🔓 car 0x70997970…79c8: unlocked
 * await car.close()
 */
export async function startSimulatedCar(options: SimulatedCarOptions): Promise<DeviceAgent> {
  const { print = (line: string) => console.log(line), onChange, ...agentOptions } = options
  // Named before the agent exists (it may apply a command as soon as it connects); a bad key is the agent's
  // error to report.
  let name = 'car'
  try {
    name = `car ${shortId(addressOf(options.deviceKey))}`
  } catch {}
  const quiet = `🔓 ${name}: unlocked`
  let shown = quiet
  const agent = await createDeviceAgent({
    // A car: its starter interrupt follows the immobilizer's safety rules unless told otherwise.
    immobilizer: true,
    ...agentOptions,
    onChange: (state: DeviceState) => {
      // A new version that changes nothing the driver sees (same lock, same text) stays quiet.
      const line = dashboardLine(name, state)
      if (line !== shown) print(line)
      shown = line
      onChange?.(state)
    },
  })
  // A car restored locked (or warning) from its stateFile gets no new command, yet its dashboard must say so.
  const restored = dashboardLine(name, agent.state())
  if (restored !== shown) print(restored)
  shown = restored
  return agent
}

function shortId(deviceId: string): string {
  return deviceId.length > 14 ? `${deviceId.slice(0, 10)}…${deviceId.slice(-4)}` : deviceId
}
