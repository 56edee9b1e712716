import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { carLoanAbi, carWalletAbi } from '@pbj/contracts'
import { LOCK_MESSAGE, startSimulatedCar } from '@pbj/device'
import { createPublicClient, createTestClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createEngine } from '../engine/createEngine.js'
import { now } from '../internal/now.js'
import { waitFor } from '../internal/waitFor.js'
import { loadFunctions } from '../runtime/loadFunctions.js'
import { demoAccounts } from './accounts.js'
import { type Progress, startDemoStack } from './startDemoStack.js'

/** The example project the demo runs: its functions lock and unlock the car. */
export const demoProjectDir = fileURLToPath(new URL('../../../../examples/car-loan', import.meta.url))

/** One line of the demo's timeline. */
export type DemoEvent =
  | { type: 'setup'; step: string; detail: Record<string, unknown> }
  | {
      type: 'step'
      step: 'paid-on-time' | 'before-deadline' | 'lock' | 'reload'
      title: string
      block: bigint
      chainTime: bigint
      locked: boolean
      /** ms from the moment the block was mined to each stage, for steps that moved the car. */
      latency?: { head: number; functionStarted: number; atBroker: number; ack: number }
      message?: string
    }
  | {
      type: 'summary'
      ok: boolean
      lockLatencyMs: number | null
      unlockLatencyMs: number | null
      error?: string
    }

/**
 * Runs the car-loan scenario on an embedded stack: the wallet pays on time (no lock); chain time passes due
 * + grace with the wallet empty (lock, in that very block); the owner reloads, the installment is
 * collected, the car unlocks. Every outcome is checked; the summary is `ok` only if all of them held.
 *
 * @example
 * const summary = await runDemo({ onEvent: (e) => console.log(JSON.stringify(e)) })
 */
export async function runDemo(options: { onEvent: (event: DemoEvent) => void; brokerUrl?: string }) {
  const emit = options.onEvent
  const onProgress: Progress = (step, detail) => emit({ type: 'setup', step, detail })
  const stack = await startDemoStack({
    cars: 1,
    onProgress,
    ...(options.brokerUrl ? { brokerUrl: options.brokerUrl } : {}),
  })
  const dir = mkdtempSync(join(tmpdir(), 'pbj-demo-'))
  const cleanups: (() => Promise<void>)[] = [
    stack.stop,
    async () => rmSync(dir, { recursive: true, force: true }),
  ]
  let lockLatencyMs: number | null = null
  let unlockLatencyMs: number | null = null
  try {
    const car = stack.cars[0]
    if (!car) throw new Error('the demo stack made no car')
    const { functions, errors } = await loadFunctions(join(demoProjectDir, 'functions'))
    if (errors.length > 0) throw errors[0]
    const engine = await createEngine({
      rpcUrl: [stack.wsUrl, stack.rpcUrl],
      brokerUrl: stack.brokerUrl,
      database: join(dir, 'pbj.db'),
      functions,
      contracts: stack.deployment.contracts,
      limits: { timeoutMs: 2000, memoryMb: 64 },
      // The chain is new: read it from genesis so the loan's own LoanOpened arms its deadline.
      chain: { startBlock: 0 },
    })
    cleanups.unshift(engine.stop)
    const agent = await startSimulatedCar({
      brokerUrl: stack.brokerUrl,
      deviceId: car.deviceId,
      print: () => {},
    })
    cleanups.unshift(() => agent.close())
    await engine.start()
    emit({
      type: 'setup',
      step: 'engine',
      detail: { chainId: engine.chainId, functions: engine.functionNames() },
    })

    const transport = http(stack.rpcUrl)
    const chain = await createPublicClient({ transport }).getChainId()
    const anvil = {
      id: chain,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [stack.rpcUrl] } },
    } as const
    const pub = createPublicClient({ chain: anvil, transport })
    const test = createTestClient({ chain: anvil, mode: 'anvil', transport })
    const owner = createWalletClient({
      chain: anvil,
      transport,
      account: privateKeyToAccount(demoAccounts.owner.privateKey),
    })
    const loan = () =>
      pub.readContract({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [car.loanId],
      })

    /** Mines one block (with whatever is pending) and waits until pbj has processed it and its runs. */
    const mine = async (timestamp?: bigint) => {
      if (timestamp !== undefined) await test.setNextBlockTimestamp({ timestamp })
      const before = await pub.getBlockNumber({ cacheTime: 0 })
      const processed = waitFor(
        engine.events,
        'block',
        (b) => b.number === before + 1n,
        10_000,
        `block ${before + 1n}`,
      )
      const minedAt = now()
      await test.mine({ blocks: 1 })
      const block = await processed
      await engine.idle()
      return { number: block.number, timestamp: block.timestamp, minedAt, head: block.receivedAt - minedAt }
    }
    /** Mines a block expected to move the car, and measures each stage from the moment it was mined. */
    const mineAndAwaitCar = async (locked: boolean, timestamp?: bigint) => {
      const acked = waitFor(
        engine.events,
        'device:reported',
        (r) => r.deviceId === car.deviceId.toLowerCase() && r.state.locked === locked,
        10_000,
        `car ${locked ? 'lock' : 'unlock'} acknowledgement`,
      )
      const published = waitFor(
        engine.events,
        'device:desired',
        (d) => d.state.locked === locked,
        10_000,
        'command',
      )
      const started = waitFor(
        engine.events,
        'run',
        (r) => r.run.functionName === (locked ? 'lockOnMissedPayment' : 'unlockOnPayment'),
        10_000,
        'function run',
      )
      const block = await mine(timestamp)
      const [ack, desired, run] = await Promise.all([acked, published, started])
      const since = (t: number) => Math.round((t - block.minedAt) * 100) / 100
      if (desired.blockNumber !== block.number)
        throw new Error(`command came from block ${desired.blockNumber}, not ${block.number}`)
      return {
        block,
        latency: {
          head: since(block.minedAt + block.head),
          functionStarted: since(run.startedAt),
          atBroker: since(desired.publishedAt),
          ack: since(ack.receivedAt),
        },
      }
    }
    const reload = (amount: bigint) =>
      owner.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'reload',
        args: [amount],
        gas: 500_000n,
      })

    await test.setAutomine(false)
    // 1. the car's wallet pays the first installment on time
    await reload(car.installment)
    const paid = await mine()
    const afterPay = await loan()
    if (agent.state().locked) throw new Error('car locked although the installment was paid')
    if (afterPay.nextDueAt !== car.firstDueAt + BigInt(car.period))
      throw new Error('installment 1 was not collected')
    emit({
      type: 'step',
      step: 'paid-on-time',
      title: "The car's wallet pays installment 1 on time",
      block: paid.number,
      chainTime: paid.timestamp,
      locked: false,
    })

    // 2. one second before due + grace: still current, never locked early
    const lockAt = afterPay.nextDueAt + afterPay.grace
    const early = await mine(lockAt - 1n)
    if (agent.state().locked)
      throw new Error(`car locked at ${early.timestamp}, before due + grace (${lockAt})`)
    emit({
      type: 'step',
      step: 'before-deadline',
      title: '1 s before due date + grace, wallet empty: not locked',
      block: early.number,
      chainTime: early.timestamp,
      locked: false,
    })

    // 3. the first block at due + grace locks the car
    const lock = await mineAndAwaitCar(true, lockAt)
    const lockedState = agent.state()
    if (!lockedState.locked || lockedState.message !== LOCK_MESSAGE)
      throw new Error('car did not show the lock message')
    lockLatencyMs = lock.latency.ack
    emit({
      type: 'step',
      step: 'lock',
      title: 'Due date + grace reached with the wallet empty: car locked',
      block: lock.block.number,
      chainTime: lock.block.timestamp,
      locked: true,
      latency: lock.latency,
      message: LOCK_MESSAGE,
    })

    // 4. the owner reloads the wallet: the installment is collected in that block and the car unlocks
    await reload(car.installment)
    const unlock = await mineAndAwaitCar(false)
    if (agent.state().locked) throw new Error('car still locked after the reload')
    unlockLatencyMs = unlock.latency.ack
    emit({
      type: 'step',
      step: 'reload',
      title: "Owner reloads the car's wallet: installment collected, car unlocked",
      block: unlock.block.number,
      chainTime: unlock.block.timestamp,
      locked: false,
      latency: unlock.latency,
    })
    emit({ type: 'summary', ok: true, lockLatencyMs, unlockLatencyMs })
    return true
  } catch (error) {
    emit({
      type: 'summary',
      ok: false,
      lockLatencyMs,
      unlockLatencyMs,
      error: error instanceof Error ? error.message : String(error),
    })
    return false
  } finally {
    for (const c of cleanups) await c().catch(() => {})
  }
}
