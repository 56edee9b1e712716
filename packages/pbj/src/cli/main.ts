import { messageOf } from '@pbj/internal/messageOf.js'
// The command line on commander, the parser Ponder's CLI uses: each command below is defined once — name,
// arguments, options with their types, choices and defaults, description, action — and the usage list, each
// command's `--help` and the errors for an unknown command or option are generated from that definition.
// (cac and citty were the alternatives; commander is the most kept, types its options, and needs nothing else.)
import { Argument, Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander'
import { carCommand } from './commands/car.js'
import { demoCommand } from './commands/demo.js'
import { devCommand } from './commands/dev.js'
import { devicesCommand } from './commands/devices.js'
import { keysCommand } from './commands/keys.js'
import { paymentCommand } from './commands/payment.js'
import { runsCommand } from './commands/runs.js'
import { startCommand } from './commands/start.js'
import { exitCodeOf, exitCodes } from './exitCodes.js'

type Flags = Record<string, string | boolean | undefined>

const dir = () => new Option('--dir <project>', 'the project folder (default: the current folder)')
const json = () => new Option('--json', 'print one JSON object per line')
/** A TCP port, 0–65535 (0: any free one); anything else is a usage error naming the flag. */
const portNumber = (value: string) => {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('must be a port number from 0 (any free port) to 65535.')
  return port
}

/**
 * The `pbj` program. `run` receives each action's exit code. Built per call: commander keeps the parsed
 * options on the command objects.
 */
function createProgram(run: (code: Promise<number>) => void): Command {
  const program = new Command('pbj')
    .description('chain state → TypeScript functions → devices')
    .usage('<command> [options]')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'pbj: ')) })
    .addHelpText('after', '\nRun `pbj <command> --help` for what a command does and its options.')
  const command = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .showHelpAfterError(`Run \`pbj ${name} --help\` for its arguments and options.`)

  command('demo', 'run the car-loan scenario end to end (npm start)')
    .addOption(json())
    .option('--broker <url>', "an MQTT broker to use instead of pbj's embedded one")
    .addOption(
      new Option(
        '--health-port <port>',
        'serve /healthz, /readyz and /metrics on this port (0: any free one)',
      ).argParser(portNumber),
    )
    .action((o: Flags & { healthPort?: number }) =>
      run(
        demoCommand({
          json: o.json === true,
          ...(o.broker ? { brokerUrl: String(o.broker) } : {}),
          ...(typeof o.healthPort === 'number' ? { healthPort: o.healthPort } : {}),
        }),
      ),
    )
  command('dev', 'run Anvil, contracts, broker, engine, your functions/ and a car; reload on change')
    .addOption(json())
    .addOption(dir())
    .action((o: Flags) => run(devCommand({ json: o.json === true, dir: str(o.dir) ?? process.cwd() })))
  command('start', "run the engine on the project's config (rpcUrl, brokerUrl, contracts…)")
    .addOption(json())
    .addOption(dir())
    .action((o: Flags) => run(startCommand({ json: o.json === true, dir: str(o.dir) ?? process.cwd() })))
  command(
    'car',
    'run a simulated car that applies only signed commands; without --username and PBJ_CAR_PASSWORD it logs ' +
      "in with its key, as pbj's embedded broker expects; on a terminal, keys drive it (ignition, speed)",
  )
    .option('--broker <url>', 'the MQTT broker, e.g. mqtt://127.0.0.1:1883')
    .option('--key <device key>', 'the car signs its reports with it; its address is the car’s id')
    .option('--rpc <url>', 'a node, to check who signed each command in DeviceRegistry')
    .option('--registry <address>', 'DeviceRegistry')
    .option('--chain-id <id>', 'the chain id (default: read from --rpc)')
    .option('--device <id>', 'the car’s id; must be the address of --key')
    .option('--prefix <prefix>', 'the MQTT topic prefix (default: pbj)')
    .option('--mqtt5', 'speak MQTT 5')
    .option('--loans <CarLoan>', 'the car checks every lock against its loan')
    .option('--emergency-code <code>', 'a code that unlocks the car without a signed command')
    .option('--username <id>', 'the MQTT username (password: PBJ_CAR_PASSWORD)')
    .action((o: Flags) =>
      run(
        carCommand({
          broker: str(o.broker),
          device: str(o.device),
          key: str(o.key),
          rpc: str(o.rpc),
          registry: str(o.registry),
          'chain-id': str(o.chainId),
          prefix: str(o.prefix),
          mqtt5: o.mqtt5 === true,
          'emergency-code': str(o.emergencyCode),
          username: str(o.username),
          loans: str(o.loans),
        }),
      ),
    )
  command(
    'runs',
    'recent runs; --dead: jobs that failed, exhausted their retries or are held (no balance), with why; ' +
      '`retry <job id | run id>`: run a failed or dead-lettered job again (a running engine picks it up)',
  )
    .addArgument(new Argument('[retry]', 'run a failed or dead job again').choices(['retry']))
    .argument('[id]', 'the job id or run id to retry')
    .addOption(dir())
    .option('--function <name>', 'only runs of this function')
    .addOption(
      new Option('--status <status>', 'only runs with this status').choices(['ok', 'failed', 'running']),
    )
    .option('--limit <n>', 'at most this many', '20')
    .option('--dead', 'failed, dead-lettered and held jobs instead of runs')
    .addOption(json())
    .action((sub: string | undefined, id: string | undefined, o: Flags) =>
      run(
        runsCommand({
          args: [sub, id].filter((a) => a !== undefined),
          ...defined({
            dir: str(o.dir),
            function: str(o.function),
            status: str(o.status),
            limit: str(o.limit),
          }),
          dead: o.dead === true,
          json: o.json === true,
        }),
      ),
    )
  command('devices', "each device's desired vs reported state, and how long they have differed")
    .addOption(dir())
    .addOption(json())
    .addOption(
      new Option('--corrections', 'list what reconciliation with the chain corrected or was refused'),
    )
    .action((o: Flags) =>
      run(devicesCommand({ dir: str(o.dir), json: o.json === true, corrections: o.corrections === true })),
    )
  command(
    'keys',
    'the operator key encrypted at rest (passphrase: PBJ_KEY_PASSPHRASE), as a Web3 Secret Storage v3 keystore; ' +
      'import reads the key from stdin, export prints it (same address elsewhere)',
  )
    .addArgument(new Argument('<action>', 'what to do').choices(['create', 'import', 'export']))
    .addOption(dir())
    .option('--file <keystore>', "the keystore file (default: the config's operatorKeystore)")
    .option('--force', 'replace an existing keystore')
    .addOption(json())
    .action((sub: string, o: Flags) =>
      run(
        keysCommand({
          args: [sub],
          dir: str(o.dir),
          file: str(o.file),
          force: o.force === true,
          json: o.json === true,
        }),
      ),
    )
  command('balance', "the project's prepaid execution balance on ExecutionBalance, and the prices")
    .addOption(dir())
    .addOption(json())
    .action((o: Flags) => run(paymentCommand('balance', payment([], o))))
  for (const name of ['deposit', 'withdraw'] as const) {
    command(
      name,
      name === 'deposit' ? 'fund the project (owner key: PBJ_OWNER_KEY)' : 'take its unspent balance back',
    )
      .argument('<tUSD>', 'the amount, in tUSD')
      .addOption(dir())
      .option('--key <owner key>', "the project owner's key (default: PBJ_OWNER_KEY)")
      .addOption(json())
      .action((amount: string, o: Flags) => run(paymentCommand(name, payment([amount], o))))
  }
  command('usage', "metered runs and settled batches; checks the chain's sums against them")
    .addOption(dir())
    .addOption(json())
    .action((o: Flags) => run(paymentCommand('usage', payment([], o))))
  // Set after the commands so that only the usage list, not each command's help, is laid out this way.
  return program.configureHelp({ subcommandTerm, formatItem })
}

/** A command in the usage list: `pbj <name> <arguments> [options]`, from its definition. */
const subcommandTerm = (c: Command) =>
  [
    `pbj ${c.name()}`,
    ...c.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)),
    ...c.options.map((o) => `[${o.flags}]`),
  ].join(' ')

/** The usage list: each command's line, then its description indented below (a table would be too wide). */
function formatItem(term: string, _termWidth: number, description: string, helper: Help): string {
  if (!term.startsWith('pbj '))
    return Help.prototype.formatItem.call(helper, term, term.length, description, helper)
  const width = helper.helpWidth ?? 80
  const indent = (text: string, spaces: number) => text.replace(/\n/g, `\n${' '.repeat(spaces)}`)
  return `  ${indent(helper.boxWrap(term, width - 4), 4)}\n      ${indent(helper.boxWrap(description, width - 6), 6)}`
}

const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined)
const defined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
const payment = (args: string[], o: Flags) => ({
  args,
  dir: str(o.dir),
  json: o.json === true,
  key: str(o.key),
})

/**
 * The `pbj` command line. Returns the exit code of the table in exitCodes.ts: 0; 2 for an unknown command,
 * option or argument; for a command that failed, its error's code (`exitCodeOf`: 3 config refused, 4 store
 * refused, 5 a dependency failed at start, else 1).
 *
 * @example
 * process.exitCode = await main(['demo', '--json'])
 */
export async function main(argv: string[]): Promise<number> {
  let result: Promise<number> = Promise.resolve(0)
  const program = createProgram((code) => {
    result = code
  })
  try {
    await program.parseAsync(argv.length === 0 ? ['--help'] : argv, { from: 'user' })
    return await result
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for: exit code 0. An unknown command: the usage list after the error, and 2.
      if (error.code === 'commander.unknownCommand') {
        process.stderr.write(`\n${program.helpInformation()}`)
        return exitCodes.usage
      }
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage
    }
    const command = argv[0] ?? ''
    // A PbjError's message carries its details, hint (`Fix: …`) and docs link.
    process.stderr.write(`pbj ${command}: ${messageOf(error)}\n`)
    return exitCodeOf(error)
  }
}
