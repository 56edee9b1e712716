import { parseArgs } from 'node:util'
import { PbjError } from '../internal/errors.js'
import { carCommand } from './commands/car.js'
import { demoCommand } from './commands/demo.js'
import { devCommand } from './commands/dev.js'
import { devicesCommand } from './commands/devices.js'
import { keysCommand } from './commands/keys.js'
import { paymentCommand } from './commands/payment.js'
import { runsCommand } from './commands/runs.js'
import { startCommand } from './commands/start.js'

const usage = `pbj: chain state → TypeScript functions → devices

Usage:
  pbj demo [--json] [--broker <url>]     run the car-loan scenario end to end (npm start)
  pbj dev  [--json] [--dir <project>]    run Anvil, contracts, broker, engine, your functions/ and a car; reload on change
  pbj start [--json] [--dir <project>]   run the engine on the project's config (rpcUrl, brokerUrl, contracts…)
  pbj car  --broker <url> --key <device key> --rpc <url> --registry <address> [--chain-id <id>]
                                         run a simulated car that applies only signed commands [--prefix pbj] [--mqtt5]
                                         [--loans <CarLoan>: the car checks every lock against its loan]
                                         [--emergency-code <code>] [--username <id>] (password: PBJ_CAR_PASSWORD; without
                                         them it logs in with its key, as pbj's embedded broker expects); on a
                                         terminal, keys drive it (ignition, speed)
  pbj runs [--dir <project>] [--function <name>] [--status ok|failed] [--limit 20] [--json]
  pbj runs --dead [--dir <project>]      jobs that failed, exhausted their retries or are held (no balance), with why
  pbj runs retry <job id | run id>       run a failed or dead-lettered job again (a running engine picks it up)
  pbj devices [--dir <project>] [--json] each device's desired vs reported state, and how long they have differed
  pbj keys create|import|export [--dir <project>] [--file <keystore>] [--force]
                                         the operator key encrypted at rest (passphrase: PBJ_KEY_PASSPHRASE);
                                         import reads the key from stdin, export prints it (same address elsewhere)
  pbj balance [--dir <project>] [--json] the project's prepaid execution balance on ExecutionBalance, and the prices
  pbj deposit|withdraw <tUSD> [--dir <project>] [--key <owner key>]
                                         fund the project, or take its unspent balance back (key: PBJ_OWNER_KEY)
  pbj usage [--dir <project>] [--json]   metered runs and settled batches; checks the chain's sums against them
  pbj help
`

const commands = [
  'demo',
  'dev',
  'start',
  'car',
  'runs',
  'devices',
  'keys',
  'balance',
  'deposit',
  'withdraw',
  'usage',
  'help',
  '--help',
]

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
        key: { type: 'string' },
        rpc: { type: 'string' },
        registry: { type: 'string' },
        'chain-id': { type: 'string' },
        'emergency-code': { type: 'string' },
        username: { type: 'string' },
        loans: { type: 'string' },
        prefix: { type: 'string' },
        mqtt5: { type: 'boolean', default: false },
        dir: { type: 'string' },
        function: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
        dead: { type: 'boolean', default: false },
        file: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals:
        command === 'runs' || command === 'keys' || command === 'deposit' || command === 'withdraw',
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
      case 'keys':
        return await keysCommand({
          args: positionals,
          dir: values.dir,
          file: values.file,
          force: values.force,
          json: values.json,
        })
      case 'devices':
        return await devicesCommand({ dir: values.dir, json: values.json })
      case 'balance':
      case 'deposit':
      case 'withdraw':
      case 'usage':
        return await paymentCommand(command, {
          args: positionals,
          dir: values.dir,
          json: values.json,
          key: values.key,
        })
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
