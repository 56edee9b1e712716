import { carLoanAbi, carWalletAbi } from '@pbj/contracts'
import { createTestClient, http, type PublicClient } from 'viem'
import { carLoanMoves } from '#pbj/demo/carLoanMoves.js'
import { createBlockMiner, type MoveTimes } from '#pbj/demo/createBlockMiner.js'
import { createDemoCar } from '#pbj/demo/createDemoCar.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'
import { ownCpuUs, processCpuUs } from '../lib/cpuTime.js'
import { profileWindow } from '../lib/profileWindow.js'
import { type Stats, summarize } from '../lib/stats.js'
import { startBenchEngine } from './startBenchEngine.js'
import { startCarProcess } from './startCarProcess.js'

/** Latency of one kind of move, ms from the moment its block was mined (`evm_mine` sent). */
export type MoveLatency = { head: Stats; functionStarted: Stats; atBroker: Stats; acked: Stats }

/** One car: the flagship lock (a chain-time deadline) and the unlock a reload's InstallmentPaid makes. */
export type SingleResult = {
  p50Ms: number
  p99Ms: number
  lock: MoveLatency
  unlock: MoveLatency
  cycles: number
  /**
   * CPU spent per measured lock, µs, from `evm_mine` sent to the car's report recorded: `engine` is the
   * bench's process, all threads (the engine, its isolate, the embedded broker — and the bench's own
   * `evm_mine` request, `mineOverheadUs`, measured on blocks nothing watches); `car` is the car's process.
   */
  cpuPerLockUs: { engine: number; car: number | null; mineOverheadUs: number }
}

/**
 * One car, the demo's engine and functions, `cycles` times: the due date passes with the wallet empty
 * (warning), 48 h before due + grace (final warning), due + grace (lock — measured), the owner reloads
 * (InstallmentPaid → unlock — measured). Each stage is timed from the moment `evm_mine` was sent: the head
 * reaching pbj, the lock function starting, the signed command at the broker (PUBACK), and the car's signed
 * report received by the engine. The first `warmup` cycles are not counted.
 *
 * @example
 * const single = await measureSingle(stack, { cycles: 30, warmup: 3, log })
 */
export async function measureSingle(
  stack: DemoStack,
  options: { cycles: number; warmup: number; log: (line: string) => void },
): Promise<SingleResult> {
  const { publicClient, owner } = demoClients({ rpcUrl: stack.rpcUrl, chainId: stack.deployment.chainId })
  const testClient = createTestClient({ mode: 'anvil', transport: http(stack.rpcUrl) })
  const startBlock = await publicClient.getBlockNumber()
  const total = options.cycles + options.warmup
  const car = await createDemoCar(stack.deployment, { installment: 1_000_000n, installments: total + 2 })
  const topicPrefix = `bench-single-${Math.random().toString(36).slice(2, 8)}`
  const { engine, stop } = await startBenchEngine(stack, {
    startBlock,
    topicPrefix,
    functions: Object.values(carLoanMoves).map((m) => m.functionName),
  })
  const carProcess = await startCarProcess(stack, {
    topicPrefix,
    keys: [car.devicePrivateKey],
    batchRpc: false,
    log: options.log,
  })
  const miner = createBlockMiner(
    engine,
    { publicClient: publicClient as PublicClient, testClient },
    { minIntervalMs: 100 },
  )
  const ids = [car.deviceId]
  const samples = { lock: [] as MoveTimes[], unlock: [] as MoveTimes[] }
  const cpu = { engineUs: 0, carUs: 0, carKnown: true, locks: 0, mineOverheadUs: 0 }
  await testClient.setAutomine(false)
  try {
    for (let cycle = 0; cycle < total; cycle++) {
      const loan = await publicClient.readContract({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [car.loanId],
      })
      const lockAt = loan.nextDueAt + loan.grace
      await miner.mineAndAwait(ids, carLoanMoves.warning, loan.nextDueAt)
      await miner.mineAndAwait(ids, carLoanMoves['final-warning'], lockAt - BigInt(car.policy.finalWarning))
      const engineBefore = ownCpuUs()
      const carBefore = processCpuUs(carProcess.pid)
      const lock = await profileWindow(`single-lock-${cycle}`, () =>
        miner.mineAndAwait(ids, carLoanMoves.lock, lockAt),
      )
      if (cycle >= options.warmup) {
        cpu.engineUs += ownCpuUs() - engineBefore
        const carAfter = processCpuUs(carProcess.pid)
        if (carBefore === undefined || carAfter === undefined) cpu.carKnown = false
        else cpu.carUs += carAfter - carBefore
        cpu.locks++
      }
      await owner.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'reload',
        args: [car.installment],
        gas: 500_000n,
      })
      const unlock = await miner.mineAndAwait(ids, carLoanMoves.unlock)
      if (cycle >= options.warmup) {
        samples.lock.push(lock)
        samples.unlock.push(unlock)
      }
      if ((cycle + 1) % 10 === 0 || cycle + 1 === total)
        options.log(`  single car: ${cycle + 1}/${total} cycles`)
    }
    // What the bench itself spends to mine a block (its `evm_mine` request and the head it waits for), on
    // blocks no function reacts to: part of the engine figure above, shown so it can be taken off.
    const idleBefore = ownCpuUs()
    for (let i = 0; i < 10; i++) await miner.mine()
    cpu.mineOverheadUs = (ownCpuUs() - idleBefore) / 10
  } finally {
    await testClient.setAutomine(true)
    await carProcess.stop()
    await stop()
  }
  const lock = latencyOf(samples.lock, car.deviceId)
  return {
    p50Ms: lock.acked.p50,
    p99Ms: lock.acked.p99,
    lock,
    unlock: latencyOf(samples.unlock, car.deviceId),
    cycles: options.cycles,
    cpuPerLockUs: {
      engine: Math.round(cpu.engineUs / Math.max(1, cpu.locks)),
      car: cpu.carKnown ? Math.round(cpu.carUs / Math.max(1, cpu.locks)) : null,
      mineOverheadUs: Math.round(cpu.mineOverheadUs),
    },
  }
}

function latencyOf(samples: MoveTimes[], deviceId: string): MoveLatency {
  const id = deviceId.toLowerCase()
  const of = (pick: (s: MoveTimes) => number | undefined) =>
    summarize(samples.map((s) => (pick(s) ?? Number.NaN) - s.block.minedAt))
  return {
    head: of((s) => s.block.receivedAt),
    functionStarted: of((s) => s.runsStartedAt[0]),
    atBroker: of((s) => s.publishedAt.get(id)),
    acked: of((s) => s.ackedAt.get(id)),
  }
}
