import { formatDemoEvent } from '../../demo/formatDemoEvent.js'
import { runDemo } from '../../demo/runDemo.js'
import { toJsonLine } from '../../internal/toJsonLine.js'

/**
 * `pbj demo [--json] [--broker <url>] [--health-port <n>]`: the car-loan scenario end to end; exit 0 only if it completed.
 *
 * @example
 * await demoCommand({ json: true }) // prints JSON lines, the last one {"type":"summary","ok":true,…}
 */
export async function demoCommand(options: {
  json: boolean
  brokerUrl?: string
  /** Serves the demo engine's /healthz, /readyz and /metrics on this port (0: any free one). */
  healthPort?: number
}): Promise<number> {
  if (!options.json)
    process.stdout.write('\npbj demo: a car loan on chain, a car on MQTT, and the functions between them\n\n')
  const ok = await runDemo({
    ...(options.brokerUrl ? { brokerUrl: options.brokerUrl } : {}),
    ...(options.healthPort === undefined ? {} : { health: { port: options.healthPort } }),
    onEvent: (e) => process.stdout.write(options.json ? toJsonLine(e) : formatDemoEvent(e)),
  })
  return ok ? 0 : 1
}
