import { carLoanAbi, deviceRegistryAbi, testUsdAbi } from '@pbj/contracts'
import { createTestClient, encodeFunctionData, type Hex, http, maxUint256, type PublicClient } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { carLoanMoves } from '#pbj/demo/carLoanMoves.js'
import { createBlockMiner, type MoveTimes } from '#pbj/demo/createBlockMiner.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import { type LoanTerms, signDeviceRegistration, signLoanConsent } from '#pbj/demo/signConsents.js'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'
import { profileWindow } from '../lib/profileWindow.js'
import { type Stats, summarize } from '../lib/stats.js'
import { startBenchEngine } from './startBenchEngine.js'
import { startCarProcess } from './startCarProcess.js'

/** One block moving every car of the fleet: per-car latencies, and the slowest car (all there). */
export type FleetMove = {
  functionStarted: Stats
  atBroker: Stats
  acked: Stats
  /** ms from the block to the last command at the broker / the last car's acknowledgement. */
  allAtBrokerMs: number
  allAckedMs: number
  /**
   * CPU time of this process (engine, embedded broker, benchmark; every thread) from the block until
   * the last acknowledgement, ms: less noisy than the latencies on a shared machine.
   */
  cpuMs?: number
}

export type FleetResult = {
  cars: number
  rounds: number
  /** The slowest round's last command at the broker / last acknowledgement (ms from the block). */
  atBrokerMs: number
  ackedMs: number
  lock: FleetMove[]
  unlock: FleetMove[]
  setupSeconds: number
}

const day = 86_400
const installment = 1_000_000n

/**
 * `cars` cars whose loans all fall due in the same block: each round, the due date passes (1,000
 * warnings), the final warning, then due + grace locks every car in one block — measured: the runs, every
 * signed command at the broker, every car's signed report back at the engine — and one block paying every
 * loan unlocks them all (measured too). The cars run in a child process; the engine, its embedded broker
 * and the benchmark share this one, as in `pbj dev`.
 *
 * @example
 * const fleet = await measureFleet(stack, { cars: 1_000, rounds: 1, log })
 */
export async function measureFleet(
  stack: DemoStack,
  options: { cars: number; rounds: number; unlock?: boolean; log: (line: string) => void },
): Promise<FleetResult> {
  const { log } = options
  const setupStarted = performance.now()
  const { publicClient } = demoClients({ rpcUrl: stack.rpcUrl, chainId: stack.deployment.chainId })
  const testClient = createTestClient({ mode: 'anvil', transport: http(stack.rpcUrl) })
  const { CarLoan, DeviceRegistry, TestUSD } = stack.deployment.contracts
  const { owner, lender, operator } = stack.deployment.accounts
  const keys = Array.from({ length: options.cars }, () => generatePrivateKey())
  const ids = keys.map((key) => privateKeyToAddress(key))
  const startBlock = await publicClient.getBlockNumber()
  const firstLoan =
    (await publicClient.readContract({ address: CarLoan, abi: carLoanAbi, functionName: 'loanCount' })) + 1n
  const latest = await publicClient.getBlock()
  const firstDueAt = latest.timestamp + BigInt(30 * day)
  const grace = 10 * day
  const policy = {
    warningPeriod: BigInt(grace),
    finalWarning: BigInt(2 * day),
    emergencyStarts: 3,
    emergencyDuration: BigInt(day),
  }

  // Every car's device registration (signed by the car's key), operator and loan (the borrower's consent
  // signed by the owner), sent as JSON-RPC batches from Anvil's unlocked dev accounts and mined together:
  // ~3,000 transactions in a few seconds. The lender registers the cars, so it may open their loans.
  const chainId = stack.deployment.chainId
  const firstNonce = await publicClient.readContract({
    address: CarLoan,
    abi: carLoanAbi,
    functionName: 'consentNonce',
    args: [owner.address],
  })
  const signed = await Promise.all(
    keys.map(async (devicePrivateKey, index) => {
      const car = ids[index] as Hex
      const terms: LoanTerms = {
        borrower: owner.address,
        car,
        // The loan's wallet is the car's own (empty) address: no autopay, so every car is warned.
        wallet: car,
        lender: lender.address,
        installment,
        period: BigInt(30 * day),
        grace: BigInt(grace),
        installments: 24,
        firstDueAt,
      }
      const registration = await signDeviceRegistration({
        devicePrivateKey,
        owner: lender.address,
        chainId,
        registry: DeviceRegistry,
        now: latest.timestamp,
      })
      const consent = await signLoanConsent({
        borrowerKey: owner.privateKey,
        terms,
        policy,
        nonce: firstNonce + BigInt(index),
        chainId,
        carLoan: CarLoan,
        now: latest.timestamp,
      })
      return { car, terms, registration, consent }
    }),
  )
  await testClient.setAutomine(false)
  try {
    const txs: { from: Hex; to: Hex; data: Hex }[] = []
    for (const { car, terms, registration, consent } of signed) {
      txs.push({
        from: lender.address,
        to: DeviceRegistry,
        data: encodeFunctionData({
          abi: deviceRegistryAbi,
          functionName: 'register',
          args: [car, lender.address, registration.deadline, registration.signature],
        }),
      })
      txs.push({
        from: lender.address,
        to: DeviceRegistry,
        data: encodeFunctionData({
          abi: deviceRegistryAbi,
          functionName: 'addOperator',
          args: [car, operator.address],
        }),
      })
      txs.push({
        from: lender.address,
        to: CarLoan,
        data: encodeFunctionData({
          abi: carLoanAbi,
          functionName: 'openLoan',
          args: [terms, policy, consent.deadline, consent.signature],
        }),
      })
    }
    txs.push({
      from: owner.address,
      to: TestUSD,
      data: encodeFunctionData({
        abi: testUsdAbi,
        functionName: 'mint',
        args: [owner.address, installment * BigInt(options.cars * (options.rounds + 1))],
      }),
    })
    txs.push({
      from: owner.address,
      to: TestUSD,
      data: encodeFunctionData({ abi: testUsdAbi, functionName: 'approve', args: [CarLoan, maxUint256] }),
    })
    await sendAndMine(stack.rpcUrl, txs)
  } finally {
    await testClient.setAutomine(true)
  }
  const opened = await publicClient.readContract({
    address: CarLoan,
    abi: carLoanAbi,
    functionName: 'loanCount',
  })
  if (opened !== firstLoan + BigInt(options.cars) - 1n)
    throw new Error(`opened ${opened - firstLoan + 1n} loans, not ${options.cars}`)

  const topicPrefix = `bench-fleet-${Math.random().toString(36).slice(2, 8)}`
  const { engine, stop } = await startBenchEngine(stack, {
    startBlock,
    topicPrefix,
    functions: Object.values(carLoanMoves).map((m) => m.functionName),
  })
  const cars = await startCarProcess(stack, { topicPrefix, keys, batchRpc: true, log })
  log(
    `  fleet: ${options.cars} cars connected, loans ${firstLoan}–${opened} (setup ${Math.round(performance.now() - setupStarted)} ms)`,
  )
  const setupSeconds = (performance.now() - setupStarted) / 1000
  const miner = createBlockMiner(
    engine,
    { publicClient: publicClient as PublicClient, testClient },
    { timeoutMs: 60_000, minIntervalMs: 100 },
  )
  const result: FleetResult = {
    cars: options.cars,
    rounds: options.rounds,
    atBrokerMs: 0,
    ackedMs: 0,
    lock: [],
    unlock: [],
    setupSeconds,
  }
  try {
    let dueAt = firstDueAt
    for (let round = 0; round < options.rounds; round++) {
      const lockAt = dueAt + BigInt(grace)
      await miner.mineAndAwait(ids, carLoanMoves.warning, dueAt)
      log(`  fleet round ${round + 1}: ${options.cars} warnings acknowledged`)
      await miner.mineAndAwait(ids, carLoanMoves['final-warning'], lockAt - policy.finalWarning)
      log(`  fleet round ${round + 1}: ${options.cars} final warnings acknowledged`)
      const lockCpu = process.cpuUsage()
      const lock = summarizeMove(
        await profileWindow(`fleet-lock-${round + 1}`, () =>
          miner.mineAndAwait(ids, carLoanMoves.lock, lockAt),
        ),
      )
      const lockUsed = process.cpuUsage(lockCpu)
      lock.cpuMs = Math.round((lockUsed.user + lockUsed.system) / 1000)
      result.lock.push(lock)
      log(
        `  fleet round ${round + 1}: ${options.cars} locks — all at the broker ${lock.allAtBrokerMs} ms, all acknowledged ${lock.allAckedMs} ms after the block, ${lock.cpuMs} ms CPU in the engine's process`,
      )
      // The last round's unlock is skipped when not asked for (`--quick` keeps to its 2 minutes).
      if (options.unlock === false && round === options.rounds - 1) break
      await testClient.setAutomine(false)
      try {
        const payments = Array.from({ length: options.cars }, (_, i) => ({
          from: owner.address,
          to: CarLoan,
          data: encodeFunctionData({
            abi: carLoanAbi,
            functionName: 'payInstallment',
            args: [firstLoan + BigInt(i)],
          }),
        }))
        // All payments in one block: the block gas limit is raised for it, then the block is measured.
        await sendOnly(stack.rpcUrl, payments)
        await rpc(stack.rpcUrl, [
          { method: 'evm_setBlockGasLimit', params: [`0x${(200_000_000).toString(16)}`] },
        ])
        const unlock = summarizeMove(await miner.mineAndAwait(ids, carLoanMoves.unlock))
        result.unlock.push(unlock)
        log(
          `  fleet round ${round + 1}: ${options.cars} unlocks — all at the broker ${unlock.allAtBrokerMs} ms, all acknowledged ${unlock.allAckedMs} ms after the block`,
        )
      } finally {
        await testClient.setAutomine(true)
      }
      dueAt += BigInt(30 * day)
    }
  } finally {
    await cars.stop()
    await stop()
  }
  result.atBrokerMs = Math.max(...result.lock.map((m) => m.allAtBrokerMs))
  result.ackedMs = Math.max(...result.lock.map((m) => m.allAckedMs))
  return result
}

function summarizeMove(times: MoveTimes): FleetMove {
  const since = (values: Iterable<number>) => [...values].map((t) => t - times.block.minedAt)
  const atBroker = summarize(since(times.publishedAt.values()))
  const acked = summarize(since(times.ackedAt.values()))
  return {
    functionStarted: summarize(since(times.runsStartedAt)),
    atBroker,
    acked,
    allAtBrokerMs: atBroker.max,
    allAckedMs: acked.max,
  }
}

type RpcCall = { method: string; params: unknown[] }

async function rpc(url: string, calls: RpcCall[]): Promise<unknown[]> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }))),
  })
  const replies = (await response.json()) as { id: number; result?: unknown; error?: { message: string } }[]
  return replies
    .sort((a, b) => a.id - b.id)
    .map((r) => {
      if (r.error) throw new Error(`${calls[r.id]?.method}: ${r.error.message}`)
      return r.result
    })
}

/** Sends from Anvil's unlocked accounts with explicit nonces: a batch's requests are handled concurrently. */
async function sendOnly(url: string, txs: { from: Hex; to: Hex; data: Hex }[]) {
  const nonces = new Map<string, number>()
  for (const from of new Set(txs.map((tx) => tx.from))) {
    const [nonce] = (await rpc(url, [{ method: 'eth_getTransactionCount', params: [from, 'pending'] }])) as [
      Hex,
    ]
    nonces.set(from, Number(nonce))
  }
  const withNonces = txs.map((tx) => {
    const nonce = nonces.get(tx.from) ?? 0
    nonces.set(tx.from, nonce + 1)
    return { ...tx, gas: '0x61a80', nonce: `0x${nonce.toString(16)}` }
  })
  for (let i = 0; i < withNonces.length; i += 500) {
    await rpc(
      url,
      withNonces.slice(i, i + 500).map((tx) => ({ method: 'eth_sendTransaction', params: [tx] })),
    )
  }
}

/** Sends the transactions (automine off) and mines until the pool is empty. */
async function sendAndMine(url: string, txs: { from: Hex; to: Hex; data: Hex }[]) {
  // A block big enough for a thousand loans' set-up, and later for a thousand payments at once.
  await rpc(url, [{ method: 'evm_setBlockGasLimit', params: [`0x${(1_000_000_000).toString(16)}`] }])
  await sendOnly(url, txs)
  for (let blocks = 0; blocks < 100; blocks++) {
    const [status] = (await rpc(url, [{ method: 'txpool_status', params: [] }])) as [{ pending: string }]
    if (Number(status.pending) === 0) return
    await rpc(url, [{ method: 'evm_mine', params: [] }])
  }
  throw new Error('the fleet set-up transactions were not all mined after 100 blocks')
}
