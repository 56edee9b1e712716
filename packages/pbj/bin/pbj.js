#!/usr/bin/env node
// The sandbox (isolated-vm 5 on Node 20) needs --no-node-snapshot, which cannot be set from inside a running
// process: re-run this script with it (and the TypeScript loader) when it is missing.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// tsx resolved from this package, not from the current folder: pbj runs from any folder.
const flags = ['--no-node-snapshot', '--import', import.meta.resolve('tsx')]
if (!process.execArgv.includes('--no-node-snapshot')) {
  const child = spawn(
    process.execPath,
    [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      cwd: process.cwd(),
      env: process.env,
    },
  )
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
} else {
  const { main } = await import('../src/cli/main.ts')
  process.exitCode = await main(process.argv.slice(2))
}
