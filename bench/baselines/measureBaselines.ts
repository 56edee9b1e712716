import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { createPublicClient, http } from 'viem'
import { type DemoStack, startDemoStack } from '#pbj/demo/startDemoStack.js'
import { type Stats, log as stderrLog, summarize } from '../lib/stats.js'
import { type BaselineCar, startBaselineCar } from './baselineCar.js'
import { createBenchLoan } from './createBenchLoan.js'
import { installPonderApp, type PonderInstall } from './installPonderApp.js'
import { startPonderBaseline } from './ponderBaseline.js'
import { type LatencySamples, runLatencySamples } from './runLatencySamples.js'
import type { RunningBaseline } from './runningBaseline.js'
import { startViemScript } from './viemScript.js'

/**
 * One baseline's figures, each stage in ms from the moment `evm_mine` was sent for the payment's block:
 * its handler started, the command reached the car (through the broker), the car's ack got back to the
 * baseline. `p50Ms`/`p99Ms` are those of `ackedMs`, block to acknowledgement, as in pbj's own figures.
 * `skipped` says exactly why a baseline has no figures; none is ever estimated.
 */
export type BaselineResult =
  | {
      single: { p50Ms: number; p99Ms: number; handlerStartedMs: Stats; atBrokerMs: Stats; ackedMs: Stats }
      samples: number
      notes: string
    }
  | { skipped: string }

const require = createRequire(import.meta.url)

/** How many samples each baseline takes (after `warmup` discarded ones), and how it is paced. */
type Plan = { warmup: number; samples: number; pauseMs: readonly [number, number]; timeoutMs: number }

/** viem's default `pollingInterval` for an http transport: a block waits up to this long to be seen. */
const viemHttpPollMs = 4_000

const plans = (quick: boolean): Record<'viem-http' | 'viem-ws' | 'ponder', Plan> => ({
  // Each http sample costs one polling cycle (~4 s) whatever the pause, since the pause is part of it.
  'viem-http': {
    warmup: 1,
    samples: quick ? 4 : 30,
    pauseMs: [0, viemHttpPollMs],
    timeoutMs: 3 * viemHttpPollMs,
  },
  // 50–150 ms between blocks (~6 blocks/s with the sample itself): fast, yet under the 20 requests/s Ponder
  // starts its RPC rate limiter at (it makes 2 per block). Back-to-back blocks (~10/s) hit that limiter and
  // cost Ponder 100–400 ms on one sample in ten, which no real chain's block rate would.
  'viem-ws': { warmup: quick ? 5 : 20, samples: quick ? 30 : 200, pauseMs: [50, 150], timeoutMs: 10_000 },
  ponder: { warmup: quick ? 5 : 20, samples: quick ? 30 : 200, pauseMs: [50, 150], timeoutMs: 10_000 },
})

/**
 * Measures what pbj is compared with, on the bench's own Anvil and broker, one baseline at a time:
 * `viem-http` (a hand-written viem `watchContractEvent` script, default http transport, polling every 4 s),
 * `ponder` (Ponder's realtime indexing handler in a child process; installed on first use) and `viem-ws`
 * (the viem script over WebSocket, `eth_subscribe`), in that order: Ponder starts up in the background while
 * viem-http samples, and is killed before viem-ws. Every sample is a fresh CarLoan `InstallmentPaid` for a
 * loan made for that baseline, mined with automine off so t0 is the `evm_mine` request; a bench "car"
 * (mqtt.js, TCP no-delay) receives the command and acks it. Automine is on again when this returns.
 * A baseline that cannot run (Ponder not installable, not starting, …) is `{ skipped: reason }`.
 *
 * `quick`: 1 + 4 viem-http samples and 5 + 30 of the others, ~30 s on 2 busy cores (plus Ponder's one-time
 * install); otherwise 1 + 30 and 20 + 200, ~3–4 min. `only` (e.g. `['ponder']`) runs a subset.
 *
 * @example
 * const baselines = await measureBaselines(stack, { quick: true, log })
 * // { 'viem-http': { single: { p50Ms: 2221, … }, … }, 'viem-ws': …, ponder: … }
 */
export async function measureBaselines(
  stack: DemoStack,
  options: { quick: boolean; log: (line: string) => void; only?: readonly string[] | undefined },
): Promise<Record<string, BaselineResult>> {
  const { log } = options
  const plan = plans(options.quick)
  const started = performance.now()
  const results: Record<string, BaselineResult> = {}
  const runId = Math.random().toString(36).slice(2, 8)
  const viemVersion = (require('viem/package.json') as { version: string }).version

  const wanted = (name: string) => !options.only || options.only.includes(name)
  const viem = (transport: 'http' | 'webSocket') => {
    const name = transport === 'http' ? 'viem-http' : 'viem-ws'
    return measureOne(stack, {
      name,
      plan: plan[name],
      topicPrefix: `pbj-bench/baselines/${runId}/${name}`,
      log,
      start: async (topicPrefix) => ({
        baseline: await startViemScript({
          transport,
          url: transport === 'http' ? stack.rpcUrl : stack.wsUrl,
          carLoan: stack.deployment.contracts.CarLoan,
          brokerUrl: stack.brokerUrl,
          topicPrefix,
        }),
        notes:
          transport === 'http'
            ? `viem ${viemVersion} watchContractEvent, http transport with defaults (eth_newFilter polled every ${viemHttpPollMs} ms); mqtt.js publish with defaults (QoS 0). Each block mined at a random point of the polling cycle, so p50 is about half an interval.${wanted('ponder') ? ' Ponder was starting up meanwhile (CPU noise of a few ms against a 4 s poll).' : ''}`
            : `viem ${viemVersion} watchContractEvent, webSocket transport with defaults (eth_subscribe logs); mqtt.js publish with defaults (QoS 0).`,
      }),
    })
  }

  // Ponder is installed (one time, ~30 s) and started (~10 s) in the background while viem-http samples: a
  // phase that spends its time waiting on a 4 s poll, where a few ms of CPU noise do not show. Ponder's own
  // samples begin only once viem-http is done, and viem-ws runs after Ponder has been killed, so no two
  // baselines are ever measured at once.
  let ponderInstall: PonderInstall | undefined
  let ponderStarting: ReturnType<typeof startPonderBaseline> | undefined
  const ponderPrefix = `pbj-bench/baselines/${runId}/ponder`
  if (wanted('ponder')) {
    ponderStarting = installPonderApp(log).then(
      async (install) => {
        ponderInstall = install
        const startBlock = await createPublicClient({ transport: http(stack.rpcUrl) }).getBlockNumber()
        return startPonderBaseline({ stack, startBlock, topicPrefix: ponderPrefix, log })
      },
      (error: unknown) => {
        const reason = `could not install Ponder: ${error instanceof Error ? error.message : String(error)}`
        log(`ponder: skipped: ${reason}`)
        results.ponder = { skipped: reason }
        throw error
      },
    )
    // Its failure is reported when the ponder baseline awaits it, not as an unhandled rejection meanwhile.
    ponderStarting.catch(() => {})
  }
  try {
    if (wanted('viem-http')) results['viem-http'] = await viem('http')
    // Settled either way (a failed install has set results.ponder to skipped).
    await ponderStarting?.catch(() => {})
    if (ponderStarting && ponderInstall) {
      const { installMs } = ponderInstall
      const starting = ponderStarting
      results.ponder = await measureOne(stack, {
        name: 'ponder',
        plan: plan.ponder,
        topicPrefix: ponderPrefix,
        log,
        start: async () => {
          const ponder = await starting
          return {
            baseline: ponder,
            notes: `Ponder ${ponder.version} (ponder start; ${ponder.database}; realtime blocks over eth_subscribe newHeads), its InstallmentPaid handler publishes with mqtt.js defaults (QoS 0) before writing its row; the bench receives the car's ack on its behalf. Handler start time taken in Ponder's process (same machine clock). Ready ${(ponder.startMs / 1000).toFixed(1)} s after spawn${installMs === null ? '' : `, after a one-time install of ${(installMs / 1000).toFixed(1)} s`}.`,
          }
        },
      })
    }
  } finally {
    // measureOne stops what it started; this covers a Ponder that was started but never measured.
    await ponderStarting?.then((ponder) => ponder.stop()).catch(() => {})
  }
  if (wanted('viem-ws')) results['viem-ws'] = await viem('webSocket')

  log(`baselines: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  // In a stable order, whatever order they ran in.
  const ordered: Record<string, BaselineResult> = {}
  for (const name of ['viem-http', 'viem-ws', 'ponder']) {
    const result = results[name]
    if (result) ordered[name] = result
  }
  return ordered
}

/** Sets up one baseline (a loan, a car, the baseline itself), samples it, and tears everything down. */
async function measureOne(
  stack: DemoStack,
  params: {
    name: string
    plan: Plan
    topicPrefix: string
    log: (line: string) => void
    start: (topicPrefix: string) => Promise<{ baseline: RunningBaseline; notes: string }>
  },
): Promise<BaselineResult> {
  const { name, plan, log } = params
  const began = performance.now()
  let car: BaselineCar | undefined
  let baseline: RunningBaseline | undefined
  try {
    log(`${name}: ${plan.warmup} warm-up + ${plan.samples} samples`)
    // A loan of its own per baseline; two installments spare, as a failed sample's payment is still mined.
    const loan = await createBenchLoan(stack, plan.warmup + plan.samples + 2)
    car = await startBaselineCar({
      brokerUrl: stack.brokerUrl,
      topicPrefix: params.topicPrefix,
      loanId: loan.loanId,
    })
    const started = await params.start(params.topicPrefix)
    baseline = started.baseline
    // Let the watcher create its filter / subscription before the first block it must see.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const samples: LatencySamples = await runLatencySamples({
      stack,
      loan,
      car,
      baseline,
      ...plan,
      log,
      name,
    })
    const acked = summarize(samples.acked)
    const result: BaselineResult = {
      single: {
        p50Ms: acked.p50,
        p99Ms: acked.p99,
        handlerStartedMs: summarize(samples.handlerStarted),
        atBrokerMs: summarize(samples.atBroker),
        ackedMs: acked,
      },
      samples: samples.acked.length,
      notes: started.notes,
    }
    log(
      `${name}: handler p50 ${result.single.handlerStartedMs.p50} ms, car p50 ${result.single.atBrokerMs.p50} ms, ack p50 ${acked.p50} / p99 ${acked.p99} ms (${((performance.now() - began) / 1000).toFixed(1)} s)`,
    )
    return result
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    log(`${name}: skipped: ${reason}`)
    return { skipped: reason }
  } finally {
    await baseline?.stop().catch(() => {})
    await car?.stop().catch(() => {})
  }
}

// Standalone, for development: `node --no-node-snapshot --import tsx bench/baselines/measureBaselines.ts [--quick]`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick')
  // `--only viem-ws,ponder`: a subset, for development.
  const onlyAt = process.argv.indexOf('--only')
  const only = onlyAt > 0 ? process.argv[onlyAt + 1]?.split(',') : undefined
  const stack = await startDemoStack({ cars: 0 })
  try {
    const results = await measureBaselines(stack, { quick, log: stderrLog, only })
    process.stdout.write(`${JSON.stringify(results)}\n`)
  } finally {
    await stack.stop()
  }
}
