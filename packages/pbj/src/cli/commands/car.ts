import { startSimulatedCar } from '@pbj/device'
import { PbjError } from '../../internal/errors.js'

/**
 * `pbj car --broker mqtt://… --device 0x…`: a simulated car that applies lock/unlock commands and reports.
 *
 * @example
 * await carCommand({ broker: 'mqtt://127.0.0.1:1883', device: '0xabc…' })
 */
export async function carCommand(o: { broker?: string; device?: string; prefix?: string; mqtt5?: boolean }) {
  if (!o.broker || !o.device) {
    throw new PbjError('pbj car needs --broker and --device', {
      hint: 'Run `pbj dev` and copy the broker URL and device id it prints, e.g. pbj car --broker mqtt://127.0.0.1:1883 --device 0x…',
    })
  }
  const car = await startSimulatedCar({
    brokerUrl: o.broker,
    deviceId: o.device,
    ...(o.prefix ? { topicPrefix: o.prefix } : {}),
    protocolVersion: o.mqtt5 ? 5 : 4,
    print: (line) => process.stdout.write(`${line}\n`),
  })
  process.stdout.write(`car ${o.device} connected to ${o.broker}; waiting for commands (Ctrl-C to stop)\n`)
  await new Promise<void>((resolve) => {
    process.on('SIGINT', resolve)
    process.on('SIGTERM', resolve)
  })
  await car.close()
  return 0
}
