#!/usr/bin/env node
// The sandbox (isolated-vm 5 on Node 20) needs --no-node-snapshot, which cannot be set from inside a running
// process: re-run this script with it (and the TypeScript loader) when it is missing.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// tsx resolved from this package, not from the current folder: pbj runs from any folder.
const flags = ['--no-node-snapshot', '--import', import.meta.resolve('tsx')]
// How long the engine may take to drain once its parent is gone before it is ended anyway.
const orphanDeadlineMs = 15_000

if (!process.execArgv.includes('--no-node-snapshot')) {
  const child = spawn(
    process.execPath,
    [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      cwd: process.cwd(),
      // Asks the inner process to watch this one; a process started without the wrapper (a supervisor
      // running `node --no-node-snapshot … pbj.js start` itself) must not stop when its launcher exits.
      env: { ...process.env, PBJ_WATCH_PARENT: '1' },
    },
  )
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => {
    // Dies the way the engine died, so a supervisor reads the same; the forwarding handler would catch it.
    if (signal) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } else process.exit(code ?? 1)
  })
  // `pbj dev` and `pbj demo` are tools tied to whoever launched them (a terminal, `npm run dev`): when the
  // launcher goes, however it goes, they go. Two levels, because npm runs a script through `sh -c`, and a
  // SIGKILLed npm leaves that shell waiting on this process. `pbj start` is a daemon and must NOT follow its
  // launcher (`nohup pbj start &`, a supervisor's helper): it stops only on a signal or when this wrapper dies.
  const command = process.argv[2]
  if (command === 'dev' || command === 'demo') {
    // The watch is TypeScript, written once in @pbj/internal: load it through tsx here too.
    await import(import.meta.resolve('tsx'))
    const { watchParent } = await import('@pbj/internal/watchParent.js')
    watchParent(
      () => {
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), orphanDeadlineMs).unref()
      },
      { levels: process.env.npm_lifecycle_event && launchedByShell() ? 2 : 1 },
    )
  }
} else if (process.env.PBJ_WATCH_PARENT === '1') {
  delete process.env.PBJ_WATCH_PARENT
  // The engine (or any command) whose wrapper is gone stops as on SIGTERM, draining, with a hard deadline;
  // the children it spawned watch it in turn (the sandbox process, Anvil through its parent-death signal,
  // esbuild through its stdin).
  const { watchParent } = await import('@pbj/internal/watchParent.js')
  watchParent(() => {
    process.stderr.write('pbj: its parent process is gone: stopping\n')
    process.kill(process.pid, 'SIGTERM')
    // Past the deadline, a second SIGTERM: the forced exit (exit 1) that ends the isolates first.
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), orphanDeadlineMs).unref()
    setTimeout(() => process.exit(1), orphanDeadlineMs + 1_000).unref()
  })
}
if (process.execArgv.includes('--no-node-snapshot')) {
  const { main } = await import('../src/cli/main.ts')
  const code = await main(process.argv.slice(2))
  process.exitCode = code
  // Only a backstop: the command has closed what it opened, so the process normally ends here by itself. If a
  // handle a library left open would keep it alive, a supervisor would see a hung start-up: exit within 1 s.
  setTimeout(() => process.exit(code), 1_000).unref()
}

/** Whether this process's parent is a shell (npm's `sh -c`), read from /proc; false where it cannot say. */
function launchedByShell() {
  try {
    return /^(sh|dash|bash|zsh)$/.test(readFileSync(`/proc/${process.ppid}/comm`, 'utf8').trim())
  } catch {
    return false
  }
}
