import { createServer } from 'node:net'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'
import { now } from '#pbj/internal/now.js'
import type { BaselineAck } from './baselineCommand.js'
import { connectMqtt } from './connectMqtt.js'
import { createArrivals } from './createArrivals.js'
import { createPonderDatabase } from './createPonderDatabase.js'
import { installPonderApp, ponderAppDir, ponderBin } from './installPonderApp.js'
import type { RunningBaseline } from './runningBaseline.js'
import { startProcessGroup } from './startProcessGroup.js'

/** How long Ponder may take from spawn to `/ready` (build, migrations, backfill of a few blocks). */
const readyTimeoutMs = 120_000

/**
 * `PBJ_BENCH_PONDER_VERBOSE=1` forwards all of Ponder's output to the log, for development (with
 * `PBJ_BENCH_PONDER_LOG_LEVEL=debug` or `trace` for Ponder's realtime internals).
 */
const verbose = process.env.PBJ_BENCH_PONDER_VERBOSE === '1'

/**
 * Starts the Ponder baseline: installs the bench's Ponder app if needed ({@link installPonderApp}), then
 * runs `ponder start` in a child process (its own process group) against the stack's Anvil (HTTP for
 * requests, WebSocket for new heads), indexing CarLoan from `startBlock`, in a database of its own
 * ({@link createPonderDatabase}: a fresh PostgreSQL database, else PGlite). Its `CarLoan:InstallmentPaid`
 * handler publishes the unlock command with mqtt.js, putting its start time in the command; the bench
 * receives the car's ack on Ponder's behalf (an indexing handler is not where a user would wait for acks).
 * Resolves once Ponder's `/ready` answers 200; `stop()` kills Ponder's process group and drops its database.
 *
 * @example
 * const ponder = await startPonderBaseline({ stack, startBlock, topicPrefix, log })
 * await ponder.stop()
 */
export async function startPonderBaseline(params: {
  stack: DemoStack
  startBlock: bigint
  topicPrefix: string
  log: (line: string) => void
}): Promise<
  RunningBaseline & { version: string; installMs: number | null; startMs: number; database: string }
> {
  const { stack, log } = params
  const install = await installPonderApp(log)
  const started = performance.now()
  const port = await freePort()
  const database = await createPonderDatabase()
  let stopping = false
  const ponder = startProcessGroup(
    process.execPath,
    [
      ponderBin,
      'start',
      '--port',
      String(port),
      '--hostname',
      '127.0.0.1',
      '--schema',
      `pbj_bench_${process.pid}`,
      '--log-level',
      process.env.PBJ_BENCH_PONDER_LOG_LEVEL ?? 'info',
    ],
    {
      cwd: ponderAppDir,
      env: {
        ...process.env,
        PONDER_TELEMETRY_DISABLED: 'true',
        PBJ_BENCH_CHAIN_ID: String(stack.deployment.chainId),
        PBJ_BENCH_RPC_URL: stack.rpcUrl,
        PBJ_BENCH_WS_URL: stack.wsUrl,
        PBJ_BENCH_CAR_LOAN: stack.deployment.contracts.CarLoan,
        PBJ_BENCH_START_BLOCK: String(params.startBlock),
        // Both set, so a stray value in the bench's environment cannot pick the database.
        PBJ_BENCH_PONDER_DATABASE_URL: database.env.PBJ_BENCH_PONDER_DATABASE_URL,
        PBJ_BENCH_PONDER_PGLITE_DIR: database.env.PBJ_BENCH_PONDER_PGLITE_DIR,
        PBJ_BENCH_BROKER_URL: stack.brokerUrl,
        PBJ_BENCH_TOPIC_PREFIX: params.topicPrefix,
      },
      // Ponder's warnings and errors are worth seeing (not those of the shutdown we asked for); its routine
      // info lines only when asked for.
      onLine: (line) => {
        if (verbose || (!stopping && /\b(WARN|ERROR|error|warn)\b/.test(line))) log(`ponder: ${line}`)
      },
    },
  )
  const acked = createArrivals<number>()
  void ponder.exited.then((how) => {
    if (!stopping) acked.fail(new Error(`Ponder exited (${how}): ${ponder.tail()}`))
  })
  const stop = async () => {
    stopping = true
    await ponder.kill()
    await database.drop().catch((error) => log(`ponder: could not drop its database: ${error}`))
  }
  try {
    await waitUntilReady(port, ponder.exited, ponder.tail)
    const startMs = Math.round(performance.now() - started)
    log(`ponder: ${install.version} ready in ${(startMs / 1000).toFixed(1)} s`)
    const mqtt = await connectMqtt(stack.brokerUrl)
    mqtt.on('message', (_topic, payload) => {
      const at = now()
      acked.set((JSON.parse(String(payload)) as BaselineAck).tx, at)
    })
    await mqtt.subscribeAsync(`${params.topicPrefix}/+/ack`)
    let stopped: Promise<void> | undefined
    return {
      ...install,
      startMs,
      database: database.description,
      acked,
      stop: () => {
        stopped ??= (async () => {
          await mqtt.endAsync().catch(() => {})
          await stop()
        })()
        return stopped
      },
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function waitUntilReady(port: number, exited: Promise<string>, tail: () => string) {
  let exit: string | undefined
  void exited.then((how) => {
    exit = how
  })
  const deadline = performance.now() + readyTimeoutMs
  while (performance.now() < deadline) {
    if (exit !== undefined) throw new Error(`ponder start exited (${exit}) before it was ready: ${tail()}`)
    const ok = await fetch(`http://127.0.0.1:${port}/ready`)
      .then((r) => r.status === 200)
      .catch(() => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`ponder start was not ready after ${readyTimeoutMs / 1000} s: ${tail()}`)
}

/** A TCP port nobody listens on right now, for Ponder's HTTP server (its default 42069 may be taken). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
