import { parseArgs } from 'node:util'
import { PbjError } from '../internal/errors.js'
import { carCommand } from './commands/car.js'
import { demoCommand } from './commands/demo.js'
import { devCommand } from './commands/dev.js'
import { runsCommand } from './commands/runs.js'
import { startCommand } from './commands/start.js'

const usage = `pbj: chain state → TypeScript functions → devices

Usage:
  pbj demo [--json] [--broker <url>]     run the car-loan scenario end to end (npm start)
  pbj dev  [--json] [--dir <project>]    run Anvil, contracts, broker, engine, your functions/ and a car; reload on change
  pbj start [--json] [--dir <project>]   run the engine on the project's config (rpcUrl, brokerUrl, contracts…)
  pbj car  --broker <url> --device <id>  run a simulated car [--prefix pbj] [--mqtt5]
  pbj runs [--dir <project>] [--function <name>] [--status ok|failed] [--limit 20] [--json]
  pbj runs --dead [--dir <project>]      jobs that failed or exhausted their retries, with their last error
  pbj runs retry <job id | run id>       run a failed or dead-lettered job again (a running engine picks it up)
  pbj help
`

const commands = ['demo', 'dev', 'start', 'car', 'runs', 'help', '--help']

/**
 * The `pbj` command line. Returns the exit code.
 *
 * @example
 * process.exitCode = await main(['demo', '--json'])
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command !== undefined && !commands.includes(command)) {
    process.stderr.write(`pbj: unknown command '${command}'\n\n${usage}`)
    return 2
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        json: { type: 'boolean', default: false },
        broker: { type: 'string' },
        device: { type: 'string' },
        prefix: { type: 'string' },
        mqtt5: { type: 'boolean', default: false },
        dir: { type: 'string' },
        function: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
        dead: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: command === 'runs',
    })
    switch (command) {
      case 'demo':
        return await demoCommand({
          json: values.json,
          ...(values.broker ? { brokerUrl: values.broker } : {}),
        })
      case 'dev':
        return await devCommand({ json: values.json, dir: values.dir ?? process.cwd() })
      case 'start':
        return await startCommand({ json: values.json, dir: values.dir ?? process.cwd() })
      case 'car':
        return await carCommand(values)
      case 'runs':
        return await runsCommand({ ...values, args: positionals })
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(usage)
        return 0
      default:
        process.stderr.write(`pbj: unknown command '${command}'\n\n${usage}`)
        return 2
    }
  } catch (error) {
    process.stderr.write(
      `pbj ${command ?? ''}: ${error instanceof PbjError ? error.message : error instanceof Error ? error.message : String(error)}\n`,
    )
    return 1
  }
}
