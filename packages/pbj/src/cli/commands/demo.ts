import { formatDemoEvent } from '../../demo/formatDemoEvent.js'
import { runDemo } from '../../demo/runDemo.js'
import { toJsonLine } from '../../internal/toJsonLine.js'

/**
 * `pbj demo [--json] [--broker <url>]`: the car-loan scenario end to end; exit 0 only if it completed.
 *
 * @example
 * await demoCommand({ json: true }) // prints JSON lines, the last one {"type":"summary","ok":true,…}
 */
export async function demoCommand(options: { json: boolean; brokerUrl?: string }): Promise<number> {
  if (!options.json)
    process.stdout.write('\npbj demo: a car loan on chain, a car on MQTT, and the functions between them\n\n')
  const ok = await runDemo({
    ...(options.brokerUrl ? { brokerUrl: options.brokerUrl } : {}),
    onEvent: (e) => process.stdout.write(options.json ? toJsonLine(e) : formatDemoEvent(e)),
  })
  return ok ? 0 : 1
}
