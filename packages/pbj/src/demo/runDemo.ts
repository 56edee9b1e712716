import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { carLoanAbi, carWalletAbi, executionBalanceAbi, testUsdAbi } from '@pbj/contracts'
import { LOCK_MESSAGE, startSimulatedCar } from '@pbj/device'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeFunctionData,
  type Hex,
  http,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { immobilizerClass } from '../deviceClasses/immobilizer/immobilizerClass.js'
import { createEngine } from '../engine/createEngine.js'
import { DemoCheckError } from '../internal/errors.js'
import { silentLogger } from '../internal/logger.js'
import { now } from '../internal/now.js'
import { startHealthEndpoints } from '../ops/startHealthEndpoints.js'
import { checkUsage } from '../payment/checkUsage.js'
import { projectIdOf, saltOf } from '../payment/projectIdOf.js'
import { loadFunctions } from '../runtime/loadFunctions.js'
import { demoAccounts } from './accounts.js'
import { carLoanMoves } from './carLoanMoves.js'
import { createBlockMiner } from './createBlockMiner.js'
import { type Progress, startDemoStack } from './startDemoStack.js'

/** The example project the demo runs: its functions lock and unlock the car. */
export const demoProjectDir = fileURLToPath(new URL('../../../../examples/car-loan', import.meta.url))

/** One line of the demo's timeline. */
export type DemoEvent =
  | { type: 'setup'; step: string; detail: Record<string, unknown> }
  /** Where the demo engine's health endpoints listen (with the `health` option): /healthz, /readyz, /metrics. */
  | { type: 'health'; url: string }
  | {
      type: 'step'
      step: 'paid-on-time' | 'autopay' | 'warning' | 'final-warning' | 'before-deadline' | 'lock' | 'reload'
      title: string
      block: bigint
      chainTime: bigint
      locked: boolean
      /** ms from the moment the block was mined to each stage, for steps that moved the car. */
      latency?: { head: number; functionStarted: number; atBroker: number; ack: number }
      message?: string
      /** The transaction that collected an installment, for the steps that collected one. */
      tx?: Hex
    }
  | {
      type: 'summary'
      ok: boolean
      lockLatencyMs: number | null
      unlockLatencyMs: number | null
      /** How each installment was collected, as the chain records it. */
      installments?: DemoInstallment[]
      /** What pbj's runs cost the project's prepaid ExecutionBalance (tUSD token units, as strings). */
      execution?: DemoExecution
      error?: string
    }

/** One installment the demo's loan collected: by the owner's `reload`, or by pbj's autopay (`payDue`). */
export type DemoInstallment = {
  installment: number
  collectedBy: 'autopay' | 'reload'
  tx: Hex
  block: bigint
}

/** The demo project's prepaid execution: runs metered, their cost, what was settled on chain, what is left. */
export type DemoExecution = {
  runs: number
  costMicros: string
  settledMicros: string
  balanceAfterMicros: string
}

/** The demo's prepaid execution: what the owner deposits and the prices the operator publishes. */
const demoDeposit = 10_000_000n
const demoPrices = [1_000n, 10n, 500n, 2_000n] as const

/**
 * Runs the car-loan scenario on an embedded stack, with prepaid execution on: the operator sets prices on
 * ExecutionBalance and the owner funds the demo project, which pays for every run. The owner loads the
 * car's wallet with two installments (installment 1 is payable, so the reload collects it at once;
 * installment 2 is held); at installment 2's due date pbj's autopay function has the relayer call
 * `CarWallet.payDue`, and the wallet pays it; the next due date passes with the wallet empty (the car warns),
 * then 48 hours before due + grace (the final warning); chain time reaches due + grace (lock, in that very
 * block); the owner reloads, the installment is collected, the car unlocks. Finally the metered runs are
 * settled on chain. Every outcome is checked on the chain and the car; the summary (installments collected
 * and by what, runs and their cost) is `ok` only if all of them held.
 *
 * @example
 * const summary = await runDemo({ onEvent: (e) => console.log(JSON.stringify(e)) })
 */
export async function runDemo(options: {
  onEvent: (event: DemoEvent) => void
  brokerUrl?: string
  /** Serves the engine's /healthz, /readyz and /metrics (port 0: any free one); a `health` event says where. */
  health?: { port?: number | undefined; host?: string | undefined } | undefined
  /** Awaited after the summary (ok or not), before anything stops: e.g. a last scrape of /metrics. */
  beforeStop?: () => Promise<void>
}) {
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
  const installments: DemoInstallment[] = []
  try {
    const car = stack.cars[0]
    if (!car) throw new DemoCheckError('the demo stack made no car')
    const { functions, errors } = await loadFunctions(join(demoProjectDir, 'functions'))
    if (errors.length > 0) throw errors[0]
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
    const operator = createWalletClient({
      chain: anvil,
      transport,
      account: privateKeyToAccount(stack.deployment.accounts.operator.privateKey),
    })
    const confirmed = async (hash: Hex) => {
      const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50 })
      if (receipt.status !== 'success') throw new DemoCheckError(`demo transaction ${hash} reverted`)
    }

    // Prepaid execution: the operator publishes its prices, the owner funds the project's balance, and
    // pbj meters every run against it and settles on chain.
    const { ExecutionBalance, TestUSD } = stack.deployment.contracts
    // A project id is bound to its owner: the owner opens `pbj-demo:<loan>` and so owns what it deposits.
    const projectSalt = `pbj-demo:${car.loanId}`
    const projectId = projectIdOf(stack.deployment.accounts.owner.address, projectSalt)
    await confirmed(
      await operator.writeContract({
        address: ExecutionBalance,
        abi: executionBalanceAbi,
        functionName: 'setPrices',
        args: [...demoPrices],
      }),
    )
    await confirmed(
      await owner.writeContract({
        address: TestUSD,
        abi: testUsdAbi,
        functionName: 'approve',
        args: [ExecutionBalance, demoDeposit],
      }),
    )
    await confirmed(
      await owner.writeContract({
        address: ExecutionBalance,
        abi: executionBalanceAbi,
        functionName: 'openProject',
        args: [saltOf(projectSalt)],
      }),
    )
    await confirmed(
      await owner.writeContract({
        address: ExecutionBalance,
        abi: executionBalanceAbi,
        functionName: 'deposit',
        args: [projectId, demoDeposit],
      }),
    )
    const [perRun, perMs, perDeviceMessage, gasMarkupBps] = demoPrices
    emit({
      type: 'setup',
      step: 'payment',
      detail: {
        projectId,
        deposit: String(demoDeposit),
        prices: {
          perRunMicros: String(perRun),
          perMsMicros: String(perMs),
          perDeviceMessageMicros: String(perDeviceMessage),
          gasMarkupBps: String(gasMarkupBps),
        },
      },
    })

    const endpoints = options.health
      ? await startHealthEndpoints({ ...options.health, logger: silentLogger })
      : undefined
    if (endpoints) {
      cleanups.push(endpoints.close)
      emit({ type: 'health', url: endpoints.url })
    }
    const engine = await createEngine({
      ...(endpoints ? { health: endpoints.health } : {}),
      rpcUrl: [stack.wsUrl, stack.rpcUrl],
      brokerUrl: stack.brokerUrl,
      database: join(dir, 'pbj.db'),
      functions,
      contracts: stack.deployment.contracts,
      // The demo's cars are immobilizers answering to their loan on CarLoan.
      deviceClass: immobilizerClass({ contract: 'CarLoan' }),
      // The key the car's owner registered as its operator: it signs every command the car gets.
      operatorKey: stack.deployment.accounts.operator.privateKey,
      limits: { timeoutMs: 2000, memoryMb: 64 },
      // The chain is new: read it from genesis so the loan's own LoanOpened arms its deadline.
      chain: { startBlock: 0 },
      // Settled once, at the end of the scenario (below), so the summary can show the whole bill.
      payment: {
        contract: ExecutionBalance,
        projectId,
        settleEvery: { runs: 10_000, ms: 3_600_000 },
      },
    })
    cleanups.unshift(engine.stop)
    endpoints?.attach(engine)
    const agent = await startSimulatedCar({
      brokerUrl: stack.brokerUrl,
      deviceKey: car.devicePrivateKey,
      chain: {
        rpcUrl: stack.rpcUrl,
        chainId: stack.deployment.chainId,
        registry: stack.deployment.contracts.DeviceRegistry,
        // The car checks every lock against its own loan too, whoever signed it.
        loans: stack.deployment.contracts.CarLoan,
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

    const loan = () =>
      pub.readContract({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [car.loanId],
      })

    const miner = createBlockMiner(engine, { publicClient: pub, testClient: test })
    const { mine } = miner
    /** Mines a block expected to move the car, and measures each stage from the moment it was mined. */
    const mineAndAwaitCar = async (move: keyof typeof carLoanMoves, timestamp?: bigint) => {
      const id = car.deviceId.toLowerCase()
      const { block, runsStartedAt, publishedAt, ackedAt } = await miner.mineAndAwait(
        [id],
        carLoanMoves[move],
        timestamp,
      )
      const since = (t: number | undefined) => Math.round(((t ?? Number.NaN) - block.minedAt) * 100) / 100
      return {
        block,
        latency: {
          head: since(block.receivedAt),
          functionStarted: since(runsStartedAt[0]),
          atBroker: since(publishedAt.get(id)),
          ack: since(ackedAt.get(id)),
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

    /** The InstallmentPaid of `hash`'s block, checked: who sent it, through which CarWallet function. */
    const collected = async (blockNumber: bigint) => {
      const logs = await pub.getContractEvents({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        eventName: 'InstallmentPaid',
        args: { loanId: car.loanId },
        fromBlock: blockNumber,
        toBlock: blockNumber,
      })
      if (logs.length !== 1)
        throw new DemoCheckError(`block ${blockNumber} paid ${logs.length} installments, not 1`)
      const log = logs[0] as (typeof logs)[number]
      const tx = await pub.getTransaction({ hash: log.transactionHash })
      if (tx.to?.toLowerCase() !== car.walletAddress.toLowerCase())
        throw new DemoCheckError(`installment paid by ${tx.to}, not the car's wallet`)
      if (log.args.payer?.toLowerCase() !== car.walletAddress.toLowerCase())
        throw new DemoCheckError(`installment paid from ${log.args.payer}, not the car's wallet`)
      const { functionName } = decodeFunctionData({ abi: carWalletAbi, data: tx.input })
      const collectedBy = functionName === 'payDue' ? ('autopay' as const) : ('reload' as const)
      const expectedFrom =
        collectedBy === 'autopay' ? stack.deployment.accounts.operator.address : demoAccounts.owner.address
      if (tx.from.toLowerCase() !== expectedFrom.toLowerCase())
        throw new DemoCheckError(`${functionName} was sent by ${tx.from}, not ${expectedFrom}`)
      const entry: DemoInstallment = {
        installment: installments.length + 1,
        collectedBy,
        tx: log.transactionHash,
        block: blockNumber,
      }
      installments.push(entry)
      return entry
    }
    const walletBalance = () =>
      pub.readContract({
        address: TestUSD,
        abi: testUsdAbi,
        functionName: 'balanceOf',
        args: [car.walletAddress],
      })
    const notWarned = (when: string) => {
      const s = agent.state()
      if (s.locked || (s.immobilizer?.stage ?? 'none') !== 'none')
        throw new DemoCheckError(`car ${s.locked ? 'locked' : 'warned'} ${when}`)
    }

    await test.setAutomine(false)
    // 1. the owner loads the car's wallet with two installments a month ahead: installment 1 is payable
    // (CarLoan lets an installment be paid from one period before its due date), so the reload pays it at
    // once; installment 2 is not payable yet, so the wallet holds it
    await reload(2n * car.installment)
    const paid = await mine()
    const afterPay = await loan()
    notWarned('although installment 1 was paid')
    if (afterPay.nextDueAt !== car.firstDueAt + BigInt(car.period))
      throw new DemoCheckError('installment 1 was not collected')
    if ((await walletBalance()) !== car.installment)
      throw new DemoCheckError("the car's wallet does not hold installment 2")
    const first = await collected(paid.number)
    if (first.collectedBy !== 'reload')
      throw new DemoCheckError('installment 1 was not collected by the reload')
    emit({
      type: 'step',
      step: 'paid-on-time',
      title: 'Owner loads the wallet with 2 installments: #1 is payable, collected',
      block: paid.number,
      chainTime: paid.timestamp,
      locked: false,
      tx: first.tx,
    })

    // 2. installment 2's due date: pbj's autopay function sees the wallet holds it and has the relayer call
    // CarWallet.payDue; the wallet pays from its own balance in the next block, without any warning
    const dueBlock = await mine(afterPay.nextDueAt)
    notWarned('at a due date the wallet covers')
    const autopaid = await mine()
    const afterAutopay = await loan()
    notWarned('after autopay')
    if (afterAutopay.nextDueAt !== afterPay.nextDueAt + BigInt(car.period))
      throw new DemoCheckError(`installment 2 was not collected at its due date (block ${dueBlock.number})`)
    const second = await collected(autopaid.number)
    if (second.collectedBy !== 'autopay')
      throw new DemoCheckError('installment 2 was not collected by autopay')
    if ((await walletBalance()) !== 0n)
      throw new DemoCheckError("the car's wallet is not empty after autopay")
    emit({
      type: 'step',
      step: 'autopay',
      title: "Installment 2 due: pbj's autopay (relayer) has the wallet pay it",
      block: autopaid.number,
      chainTime: autopaid.timestamp,
      locked: false,
      tx: second.tx,
    })

    // 3. the next due date passes with the wallet empty: the car warns, as the loan's policy (on chain,
    // readable by the borrower) requires before any disabling
    const lockAt = afterAutopay.nextDueAt + afterAutopay.grace
    const policy = await pub.readContract({
      address: stack.deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'policyOf',
      args: [car.loanId],
    })
    const warned = await mineAndAwaitCar('warning', afterAutopay.nextDueAt)
    const warning = agent.state().immobilizer?.warning
    if (!warning || warning.final)
      throw new DemoCheckError('car did not show the warning at the missed due date')
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

    // 4. finalWarning (48 hours) before due + grace: the final warning
    const hours = Number(policy.finalWarning) / 3_600
    const finalWarned = await mineAndAwaitCar('final-warning', lockAt - policy.finalWarning)
    const finalWarning = agent.state().immobilizer?.warning
    if (!finalWarning?.final) throw new DemoCheckError('car did not show the final warning')
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

    // 5. one second before due + grace: still current, never locked early
    const early = await mine(lockAt - 1n)
    if (agent.state().locked)
      throw new DemoCheckError(`car locked at ${early.timestamp}, before due + grace (${lockAt})`)
    emit({
      type: 'step',
      step: 'before-deadline',
      title: '1 s before due date + grace, wallet empty: not locked',
      block: early.number,
      chainTime: early.timestamp,
      locked: false,
    })

    // 6. the first block at due + grace locks the car (parked: its next start is prevented)
    const lock = await mineAndAwaitCar('lock', lockAt)
    const lockedState = agent.state()
    if (!lockedState.locked || lockedState.message !== LOCK_MESSAGE)
      throw new DemoCheckError('car did not show the lock message')
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

    // 7. the owner reloads the wallet: the installment is collected in that block and the car unlocks
    await reload(car.installment)
    const unlock = await mineAndAwaitCar('unlock')
    if (agent.state().locked) throw new DemoCheckError('car still locked after the reload')
    const third = await collected(unlock.block.number)
    if (third.collectedBy !== 'reload')
      throw new DemoCheckError('installment 3 was not collected by the reload')
    unlockLatencyMs = unlock.latency.ack
    emit({
      type: 'step',
      step: 'reload',
      title: "Owner reloads the car's wallet: installment collected, car unlocked",
      block: unlock.block.number,
      chainTime: unlock.block.timestamp,
      locked: false,
      latency: unlock.latency,
      tx: third.tx,
    })

    // 8. the bill: settle every metered run on ExecutionBalance and check the chain charged exactly that
    const payment = engine.payment
    if (!payment) throw new DemoCheckError('the demo engine meters no runs')
    for (let i = 0; i < 5 && (await engine.store.usage.unsettled()).length > 0; i++) {
      if (!(await payment.settle())) throw new DemoCheckError('the execution balance cannot pay the runs')
      await mine()
      const deadline = now() + 10_000
      while ((await engine.store.usage.settlements()).some((x) => x.minedAt === null)) {
        if (now() > deadline) throw new DemoCheckError('the settlement was not mined')
        await engine.relayer?.tick()
        await payment.refresh()
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const rows = await engine.store.usage.list()
    const settledEvents = await pub.getContractEvents({
      address: ExecutionBalance,
      abi: executionBalanceAbi,
      eventName: 'Settled',
      args: { projectId },
      fromBlock: 0n,
    })
    const check = checkUsage(
      rows,
      settledEvents.map((e) => ({
        batchId: e.args.batchId ?? 0n,
        amount: e.args.amount ?? 0n,
        usageRoot: e.args.usageRoot ?? '0x',
        fromRun: e.args.fromRun ?? 0n,
        toRun: e.args.toRun ?? 0n,
      })),
    )
    const balanceAfter = await pub.readContract({
      address: ExecutionBalance,
      abi: executionBalanceAbi,
      functionName: 'balanceOf',
      args: [projectId],
    })
    if (rows.length === 0) throw new DemoCheckError('no run was metered')
    if (!check.ok || check.settledOnChain !== check.metered)
      throw new DemoCheckError(`settled ${check.settledOnChain} on chain, metered ${check.metered}`)
    if (balanceAfter !== demoDeposit - check.settledOnChain)
      throw new DemoCheckError(
        `execution balance ${balanceAfter}, expected ${demoDeposit - check.settledOnChain}`,
      )
    emit({
      type: 'summary',
      ok: true,
      lockLatencyMs,
      unlockLatencyMs,
      installments,
      execution: {
        runs: rows.length,
        costMicros: String(check.metered),
        settledMicros: String(check.settledOnChain),
        balanceAfterMicros: String(balanceAfter),
      },
    })
    return true
  } catch (error) {
    emit({
      type: 'summary',
      ok: false,
      lockLatencyMs,
      unlockLatencyMs,
      installments,
      error: error instanceof Error ? error.message : String(error),
    })
    return false
  } finally {
    // After the summary, the stack still up: a caller's last look (a scrape of /metrics) sees the end state.
    await options.beforeStop?.().catch(() => {})
    for (const c of cleanups) await c().catch(() => {})
  }
}
