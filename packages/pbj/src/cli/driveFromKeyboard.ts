import type { DeviceAgent, ImmobilizerResult } from '@pbj/device'

/** The keys `pbj car` reads on a terminal, and what each does. */
export const drivingKeys = 'i ignition on/off · d drive/stop · e emergency code · s status · Ctrl-C quit'

/**
 * Lets a terminal drive a simulated car: `i` turns the ignition on or off, `d` drives at 50 km/h or stops,
 * `e` enters the emergency code, `s` prints the immobilizer's state. Only on a TTY (a pipe or a test gets
 * nothing). Returns a function that gives the terminal back.
 *
 * @example
 * const stop = driveFromKeyboard(car, { print: (line) => process.stdout.write(`${line}\n`), code: '2983' })
 * // … later
 * stop()
 */
export function driveFromKeyboard(
  car: Pick<DeviceAgent, 'ignition' | 'setSpeed' | 'enterEmergencyCode' | 'state'>,
  options: { print: (line: string) => void; code?: string | undefined },
): () => void {
  const input = process.stdin
  if (!input.isTTY) return () => {}
  const { print } = options
  const say = (done: string, result: ImmobilizerResult) => print(result.ok ? done : `⛔ ${result.refused}`)
  const onKey = (key: string) => {
    const view = car.state().immobilizer
    switch (key) {
      case 'i': {
        const on = !view?.ignition
        return say(on ? '🔑 ignition on' : '🔑 ignition off', car.ignition(on))
      }
      case 'd': {
        const kmh = view?.speedKmh ? 0 : 50
        return say(kmh ? '🚗 driving at 50 km/h' : '🚗 stopped', car.setSpeed(kmh))
      }
      case 'e':
        return say('🚨 emergency code accepted', car.enterEmergencyCode(options.code ?? '0000'))
      case 's':
        return print(`ℹ️  ${JSON.stringify(view ?? car.state())}`)
      case '\u0003':
        // Raw mode swallows Ctrl-C: pass it on as the signal the car command waits for.
        return void process.kill(process.pid, 'SIGINT')
    }
  }
  input.setRawMode(true)
  input.setEncoding('utf8')
  input.on('data', onKey)
  input.resume()
  print(`keys: ${drivingKeys}`)
  return () => {
    input.off('data', onKey)
    input.setRawMode(false)
    input.pause()
  }
}
