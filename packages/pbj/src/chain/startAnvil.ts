import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Socket } from 'node:net'
import { AnvilError, type PbjError } from '../internal/errors.js'
import { getFreePort } from '../internal/freePort.js'
import { resolveAnvilBinary } from './anvilBinary.js'

export type StartAnvilOptions = {
  /** Port to listen on; a free one is picked when omitted. */
  port?: number | undefined
  /** Seconds between blocks (interval mining). Omit for automine: one block per transaction. */
  blockTime?: number | undefined
  /** Chain id, default 31337 (Anvil's own default, which viem's `anvil` chain uses). */
  chainId?: number | undefined
  /** Receives Anvil's output line by line. When set, Anvil logs every RPC call; otherwise it runs quiet. */
  onLog?: ((line: string) => void) | undefined
}

export type AnvilNode = {
  rpcUrl: string
  wsUrl: string
  port: number
  chainId: number
  /** Process id of the Anvil binary. */
  pid: number
  /** Stops Anvil (SIGTERM, then SIGKILL after 2 s) and resolves once the process has exited. */
  stop(): Promise<void>
}

const host = '127.0.0.1'
const defaultChainId = 31337
const readyTimeoutMs = 15_000
const pollIntervalMs = 20
const killGraceMs = 2_000
const portAttempts = 5
const keptOutputLines = 30

/**
 * Starts a local Anvil chain on 127.0.0.1 and resolves once it answers `eth_chainId`.
 *
 * Runs the platform's Anvil binary itself (not the npm wrapper, whose death would orphan Anvil). The
 * process does not keep Node alive and is killed when Node exits, so a forgotten `stop()` leaks nothing;
 * on Linux it is also killed when Node dies without exiting (SIGKILL, a crash): see {@link pdeathsigPrefix}.
 *
 * @example
 * const anvil = await startAnvil()
 * const client = createPublicClient({ chain: anvil, transport: http(anvil.rpcUrl) })
 * await anvil.stop()
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilNode> {
  const binary = resolveAnvilBinary()
  const chainId = options.chainId ?? defaultChainId
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await getFreePort(host))
    const launched = await launch(binary, port, chainId, options)
    if ('node' in launched) return launched.node
    // The free port can be taken between probing and Anvil's bind; only a port we picked may be re-picked.
    const retry = launched.portTaken && options.port === undefined && attempt < portAttempts
    if (!retry) throw launched.error
  }
}

type Launched = { node: AnvilNode } | { error: PbjError; portTaken: boolean }

async function launch(
  binary: string,
  port: number,
  chainId: number,
  options: StartAnvilOptions,
): Promise<Launched> {
  const args = ['--host', host, '--port', String(port), '--chain-id', String(chainId)]
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime))
  if (options.onLog === undefined) args.push('--quiet')
  const command = [...pdeathsigPrefix(), binary, ...args]
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: ['ignore', options.onLog ? 'pipe' : 'ignore', 'pipe'],
  })
  const output = captureOutput(child, options.onLog)
  const killOnExit = () => {
    child.kill('SIGKILL')
  }
  process.on('exit', killOnExit)
  const ended = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(error.message))
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`))
  }).finally(() => process.off('exit', killOnExit))

  const rpcUrl = `http://${host}:${port}`
  const polling = new AbortController()
  const outcome = await Promise.race([
    waitForChainId(rpcUrl, polling.signal).then((answered) => ({ answered })),
    ended.then((reason) => ({ ended: reason })),
  ])
  polling.abort()

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= terminate(child, ended)
    return stopping
  }

  if ('ended' in outcome || child.exitCode !== null || child.signalCode !== null) {
    const reason = 'ended' in outcome ? outcome.ended : await ended
    const log = output.lines().join('\n')
    return {
      portTaken: /address already in use/i.test(log),
      error: new AnvilError({
        problem: 'exited',
        host,
        port,
        reason: String(reason),
        log,
        binary,
        portGiven: options.port !== undefined,
      }),
    }
  }
  if (outcome.answered === undefined) {
    await stop()
    return {
      portTaken: false,
      error: new AnvilError({ problem: 'silent', rpcUrl, readyTimeoutMs, log: output.lines().join('\n') }),
    }
  }
  if (outcome.answered !== chainId) {
    await stop()
    return {
      portTaken: true,
      error: new AnvilError({ problem: 'other-node', rpcUrl, answered: outcome.answered, chainId }),
    }
  }

  // Ready: from here on Anvil must not hold the event loop open; the exit hook cleans it up.
  child.unref()
  // Child stdio pipes are net.Sockets at runtime, though typed as plain Readables.
  const pipes = [child.stdout, child.stderr] as (Socket | null)[]
  for (const pipe of pipes) pipe?.unref()
  return {
    node: {
      rpcUrl,
      wsUrl: `ws://${host}:${port}`,
      port,
      chainId,
      pid: child.pid ?? -1,
      stop,
    },
  }
}

/** util-linux's setpriv, where it is installed (every Debian and Ubuntu: util-linux is essential). */
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path))

/**
 * What Anvil's command line starts with so that the kernel SIGKILLs it when the process that spawned it
 * dies, however it dies: `setpriv --pdeathsig SIGKILL --` sets PR_SET_PDEATHSIG and then execs Anvil, so
 * the pid, the arguments and the ports are Anvil's own and nothing stays in between (a Node watchdog would
 * cost a process and ~40 ms of start-up per Anvil, and would itself be one more thing to orphan). The
 * signal follows the thread that spawned it, which in Node is the main thread: it lives as long as the
 * process. Empty where setpriv is missing (macOS, Windows, a minimal container): Anvil is then still killed
 * at a normal exit, but not after a SIGKILL of its parent.
 */
export function pdeathsigPrefix(): string[] {
  return process.platform === 'linux' && setpriv ? [setpriv, '--pdeathsig', 'SIGKILL', '--'] : []
}

/** Polls eth_chainId until it answers; resolves undefined on timeout or when aborted. */
async function waitForChainId(rpcUrl: string, signal: AbortSignal): Promise<number | undefined> {
  const deadline = Date.now() + readyTimeoutMs
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })
  while (!signal.aborted && Date.now() < deadline) {
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(1_000)]),
      })
      const json = (await response.json()) as { result?: unknown }
      if (typeof json.result === 'string') return Number(BigInt(json.result))
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs))
  }
  return undefined
}

async function terminate(child: ChildProcess, ended: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), killGraceMs)
  await ended
  clearTimeout(timer)
}

/** Forwards output lines to onLog and keeps the last few for error messages. */
function captureOutput(child: ChildProcess, onLog: ((line: string) => void) | undefined) {
  const kept: string[] = []
  const attach = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) emit(line)
    })
    stream.on('end', () => {
      if (partial) emit(partial)
      partial = ''
    })
  }
  const emit = (raw: string) => {
    const line = raw.replace(/\r$/, '')
    kept.push(line)
    if (kept.length > keptOutputLines) kept.shift()
    onLog?.(line)
  }
  attach(child.stdout)
  attach(child.stderr)
  return { lines: () => kept.filter((line) => line.trim() !== '') }
}
