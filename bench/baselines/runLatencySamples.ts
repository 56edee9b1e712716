import { carLoanAbi } from '@pbj/contracts'
import { createTestClient, http } from 'viem'
import { demoClients } from '#pbj/demo/demoClients.js'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'
import { now } from '#pbj/internal/now.js'
import type { BaselineCar } from './baselineCar.js'
import type { BenchLoan } from './createBenchLoan.js'
import type { RunningBaseline } from './runningBaseline.js'

/** Per sample, ms from the moment `evm_mine` was sent for the payment's block. */
export type LatencySamples = { handlerStarted: number[]; atBroker: number[]; acked: number[] }

/**
 * Measures one baseline: `warmup + samples` times, the owner pays one installment of `loan` with automine
 * off, the bench sends `evm_mine` (t0) and waits until the baseline's handler started, the car received the
 * command, and the baseline received the car's ack. Warm-up samples are dropped. Automine is turned back on
 * before returning, whatever happens: the rest of the bench relies on it.
 *
 * Before each sample it waits a random pause in `pauseMs`: for a polling baseline this puts the block at a
 * random point of the polling cycle (mining right after the previous poll delivered would always cost a
 * whole interval); for the others it keeps blocks from arriving back to back.
 *
 * @example
 * const s = await runLatencySamples({ stack, loan, car, baseline, warmup: 5, samples: 30, pauseMs: [10, 40], timeoutMs: 10_000, log })
 */
export async function runLatencySamples(params: {
  stack: DemoStack
  loan: BenchLoan
  car: BaselineCar
  baseline: RunningBaseline
  warmup: number
  samples: number
  pauseMs: readonly [number, number]
  timeoutMs: number
  log: (line: string) => void
  name: string
}): Promise<LatencySamples> {
  const { stack, loan, car, baseline } = params
  const { owner } = demoClients({ rpcUrl: stack.rpcUrl, chainId: stack.deployment.chainId })
  const testClient = createTestClient({ mode: 'anvil', transport: http(stack.rpcUrl) })
  const result: LatencySamples = { handlerStarted: [], atBroker: [], acked: [] }
  const total = params.warmup + params.samples
  const [minPause, maxPause] = params.pauseMs
  let lastLog = now()
  await testClient.setAutomine(false)
  try {
    for (let i = 0; i < total; i++) {
      await sleep(minPause + Math.random() * (maxPause - minPause))
      // Sent with automine off, so it waits in the mempool; gas fixed so nothing is estimated against it.
      const hash = await owner.writeContract({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'payInstallment',
        args: [loan.loanId],
        gas: 300_000n,
      })
      const t0 = now()
      const mined = testClient.request({ method: 'evm_mine', params: undefined })
      const [received, acked, started] = await Promise.all([
        car.commands.wait(hash, params.timeoutMs, `${params.name}'s command at the car`),
        baseline.acked.wait(hash, params.timeoutMs, `${params.name} to receive the car's ack`),
        baseline.handlerStarted?.wait(hash, params.timeoutMs, `${params.name}'s handler`),
        mined,
      ])
      const handlerAt = started ?? received.command.handlerAt
      if (handlerAt === undefined) throw new Error(`${params.name} reported no handler start time`)
      if (i < params.warmup) continue
      result.handlerStarted.push(handlerAt - t0)
      result.atBroker.push(received.at - t0)
      result.acked.push(acked - t0)
      if (now() - lastLog > 5_000 || i === total - 1) {
        lastLog = now()
        params.log(`  ${params.name}: ${i + 1 - params.warmup}/${params.samples} samples`)
      }
    }
  } finally {
    // A sample that failed may have left its payment pending: mine it, then give the chain back automining.
    await testClient.request({ method: 'evm_mine', params: undefined }).catch(() => {})
    await testClient.setAutomine(true)
  }
  return result
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
