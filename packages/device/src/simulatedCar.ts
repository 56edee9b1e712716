import {
  createDeviceAgent,
  type DeviceAgent,
  type DeviceAgentOptions,
  type DeviceState,
} from './createDeviceAgent.js'

/**
 * Options of {@link startSimulatedCar}: the agent's options plus where its dashboard lines go.
 *
 * @example
 * const options: SimulatedCarOptions = { brokerUrl, deviceId, print: (line) => log.push(line) }
 */
export type SimulatedCarOptions = DeviceAgentOptions & {
  /** Receives one readable line per lock or unlock; defaults to console.log. */
  print?: (line: string) => void
}

/**
 * Starts a car that exists only in this process: a device agent whose "dashboard" prints a line whenever
 * the car locks (with the message it shows the driver) or unlocks.
 *
 * @example
 * const car = await startSimulatedCar({ brokerUrl: broker.url, deviceId: carAccount.address })
 * // 🔒 car 0x70997970…79c8: You missed your car payment and the vehicle is locked. Please reload your car's wallet.
 * // 🔓 car 0x70997970…79c8: unlocked
 * await car.close()
 */
export async function startSimulatedCar(options: SimulatedCarOptions): Promise<DeviceAgent> {
  const { print = (line: string) => console.log(line), onChange, ...agentOptions } = options
  const name = `car ${shortId(options.deviceId.toLowerCase())}`
  let shown: { locked: boolean; message: string | undefined } = { locked: false, message: undefined }
  const line = (state: { locked: boolean; message?: string | undefined }) =>
    state.locked ? `🔒 ${name}: ${state.message ?? 'locked'}` : `🔓 ${name}: unlocked`
  const agent = await createDeviceAgent({
    ...agentOptions,
    onChange: (state: DeviceState) => {
      // A new version that changes nothing the driver sees (same lock, same text) stays quiet.
      if (state.locked !== shown.locked || (state.locked && state.message !== shown.message)) {
        print(line(state))
      }
      shown = { locked: state.locked, message: state.message }
      onChange?.(state)
    },
  })
  // A car restored locked from its stateFile gets no new command, yet its dashboard must still say so.
  const restored = agent.state()
  if (restored.locked) print(line(restored))
  shown = { locked: restored.locked, message: restored.message }
  return agent
}

function shortId(deviceId: string): string {
  return deviceId.length > 14 ? `${deviceId.slice(0, 10)}…${deviceId.slice(-4)}` : deviceId
}
