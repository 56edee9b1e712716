import { describe, expect, it } from 'vitest'
import { runPbj } from '../../../../test/helpers/runPbj.js'

const pbj = runPbj

describe('pbj command line', () => {
  it('lists every command with its arguments and options, for no command, help and --help', async () => {
    for (const args of [[], ['help'], ['--help']]) {
      const { code, stdout, stderr } = await pbj(...args)
      expect(code).toBe(0)
      expect(stderr).toBe('')
      for (const line of [
        'pbj demo [--json] [--broker <url>]',
        'pbj dev [--json] [--dir <project>]',
        'pbj start [--json] [--dir <project>]',
        'pbj devices [--dir <project>] [--json]',
        'pbj keys <action> [--dir <project>] [--file <keystore>] [--force] [--json]',
        'pbj deposit <tUSD> [--dir <project>] [--key <owner key>] [--json]',
        'pbj usage [--dir <project>] [--json]',
      ])
        expect(stdout).toContain(line)
      for (const name of ['car', 'runs', 'balance', 'withdraw']) expect(stdout).toContain(`pbj ${name} `)
    }
  })

  it('prints one command’s help from its definition, for `pbj <command> --help` and `pbj help <command>`', async () => {
    const start = await pbj('start', '--help')
    expect(start.code).toBe(0)
    expect(start.stdout).toMatch(/^Usage: pbj start \[options\]/)
    expect(start.stdout).toMatch(/--dir <project> +the project folder/)
    expect(start.stdout).toMatch(/--json +print one JSON object per line/)
    const runs = await pbj('help', 'runs')
    expect(runs.code).toBe(0)
    expect(runs.stdout).toContain('--status <status>')
    expect(runs.stdout).toMatch(/choices: "ok", "failed",\s+"running"/)
    expect(runs.stdout).toContain('(default: "20")')
  })

  it('refuses an unknown command with the usage (exit 2), and an unknown option or argument with the fix (exit 2, usage)', async () => {
    const command = await pbj('nope', '--json')
    expect(command.code).toBe(2)
    expect(command.stderr).toContain("pbj: unknown command 'nope'")
    expect(command.stderr).toContain('pbj dev [--json] [--dir <project>]')
    const option = await pbj('devices', '--broker', 'mqtt://x')
    expect(option.code).toBe(2)
    expect(option.stderr).toContain("pbj: unknown option '--broker'")
    expect(option.stderr).toContain('Run `pbj devices --help`')
    const choice = await pbj('keys', 'rotate')
    expect(choice.code).toBe(2)
    expect(choice.stderr).toContain('Allowed choices are create, import, export')
    const extra = await pbj('start', 'now')
    expect(extra.code).toBe(2)
    expect(extra.stderr).toContain('too many arguments')
    const port = await pbj('demo', '--health-port', 'ninety')
    expect(port.code).not.toBe(0) // a usage error (its code is the exit-code contract's)
    expect(port.stderr).toContain("option '--health-port <port>' argument 'ninety' is invalid")
    expect(port.stderr).toContain('must be a port number from 0 (any free port) to 65535')
    expect((await pbj('demo', '--health-port', '70000')).stderr).toContain('to 65535')
  })
})
