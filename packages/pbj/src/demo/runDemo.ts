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
      step: 'paid-on-time' | 'warning' | 'final-warning' | 'before-deadline' | 'lock' | 'reload'
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
 * Runs the car-loan scenario on an embedded stack: the wallet pays on time (no lock); the next due date
 * passes with the wallet empty (the car warns), then 48 hours before due + grace (the final warning);
 * chain time reaches due + grace (lock, in that very block); the owner reloads, the installment is
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
      // The key the car's owner registered as its operator: it signs every command the car gets.
      operatorKey: stack.deployment.accounts.operator.privateKey,
      limits: { timeoutMs: 2000, memoryMb: 64 },
      // The chain is new: read it from genesis so the loan's own LoanOpened arms its deadline.
      chain: { startBlock: 0 },
    })
    cleanups.unshift(engine.stop)
    const agent = await startSimulatedCar({
      brokerUrl: stack.brokerUrl,
      deviceKey: car.devicePrivateKey,
      chain: {
        rpcUrl: stack.rpcUrl,
        chainId: stack.deployment.chainId,
        registry: stack.deployment.contracts.DeviceRegistry,
      },
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
    // What each move of the car is: the function that makes it, and the stage the car then shows.
    const moves = {
      warning: { functionName: 'warnOnMissedDueDate', locked: false, stage: 'warning' },
      'final-warning': { functionName: 'finalWarningBeforeLock', locked: false, stage: 'final-warning' },
      lock: { functionName: 'lockOnMissedPayment', locked: true, stage: 'disable' },
      unlock: { functionName: 'unlockOnPayment', locked: false, stage: 'none' },
    } as const
    /** Mines a block expected to move the car, and measures each stage from the moment it was mined. */
    const mineAndAwaitCar = async (move: keyof typeof moves, timestamp?: bigint) => {
      const { functionName, locked, stage } = moves[move]
      const acked = waitFor(
        engine.events,
        'device:reported',
        (r) =>
          r.deviceId === car.deviceId.toLowerCase() &&
          r.state.locked === locked &&
          r.state.immobilizer?.stage === stage,
        10_000,
        `car ${move} acknowledgement`,
      )
      const published = waitFor(
        engine.events,
        'device:desired',
        (d) => d.state.locked === locked && (d.state.immobilizer?.stage ?? 'none') === stage,
        10_000,
        'command',
      )
      const started = waitFor(
        engine.events,
        'run',
        (r) => r.run.functionName === functionName,
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

    // 2. the next due date passes with the wallet empty: the car warns, as the loan's policy (on chain,
    // readable by the borrower) requires before any disabling
    const lockAt = afterPay.nextDueAt + afterPay.grace
    const policy = await pub.readContract({
      address: stack.deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'policyOf',
      args: [car.loanId],
    })
    const warned = await mineAndAwaitCar('warning', afterPay.nextDueAt)
    const warning = agent.state().immobilizer?.warning
    if (!warning || warning.final) throw new Error('car did not show the warning at the missed due date')
    emit({
      type: 'step',
      step: 'warning',
      title: 'Due date missed, wallet empty: the car warns',
      block: warned.block.number,
      chainTime: warned.block.timestamp,
      locked: false,
      latency: warned.latency,
      message: warning.message,
    })

    // 3. finalWarning (48 hours) before due + grace: the final warning
    const hours = Number(policy.finalWarning) / 3_600
    const finalWarned = await mineAndAwaitCar('final-warning', lockAt - policy.finalWarning)
    const finalWarning = agent.state().immobilizer?.warning
    if (!finalWarning?.final) throw new Error('car did not show the final warning')
    emit({
      type: 'step',
      step: 'final-warning',
      title: `${hours} h before due date + grace: the car's final warning`,
      block: finalWarned.block.number,
      chainTime: finalWarned.block.timestamp,
      locked: false,
      latency: finalWarned.latency,
      message: finalWarning.message,
    })

    // 4. one second before due + grace: still current, never locked early
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

    // 5. the first block at due + grace locks the car (parked: its next start is prevented)
    const lock = await mineAndAwaitCar('lock', lockAt)
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

    // 6. the owner reloads the wallet: the installment is collected in that block and the car unlocks
    await reload(car.installment)
    const unlock = await mineAndAwaitCar('unlock')
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
