import { carLoanAbi, carWalletAbi, deviceRegistryAbi, testUsdAbi } from '@pbj/contracts/artifacts'
import { createTestClient, type Hash, type Hex, http, parseEventLogs } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type AnvilNode, startAnvil } from '../chain/startAnvil.js'
import { demoAccounts } from './accounts.js'
import { createDemoCar, type DemoCar } from './createDemoCar.js'
import { demoClients } from './demoClients.js'
import { type DemoDeployment, deployDemo } from './deployDemo.js'

const day = 24 * 60 * 60

let anvil: AnvilNode
let deployment: DemoDeployment
let clients: ReturnType<typeof demoClients>
let test: ReturnType<typeof createTestClient>
let snapshot: Hex

beforeAll(async () => {
  anvil = await startAnvil()
  deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
  clients = demoClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
  test = createTestClient({ chain: clients.chain, mode: 'anvil', transport: http(anvil.rpcUrl) })
})
afterAll(async () => {
  await anvil?.stop()
})
// Each test starts from the freshly deployed contracts and the same chain time.
beforeEach(async () => {
  snapshot = await test.snapshot()
})
afterEach(async () => {
  await test.revert({ id: snapshot })
})

async function confirm(hash: Promise<Hash>) {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** Mines one block at exactly `timestamp` and returns its number, so reads can be pinned to it. */
async function mineAt(timestamp: bigint): Promise<bigint> {
  await test.setNextBlockTimestamp({ timestamp })
  await test.mine({ blocks: 1 })
  const block = await clients.publicClient.getBlock({ blockTag: 'latest' })
  expect(block.timestamp).toBe(timestamp)
  return block.number
}

function readLoan(car: DemoCar, blockNumber?: bigint) {
  return clients.publicClient.readContract({
    address: deployment.contracts.CarLoan,
    abi: carLoanAbi,
    functionName: 'getLoan',
    args: [car.loanId],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  })
}

function tokenBalance(address: Hex) {
  return clients.publicClient.readContract({
    address: deployment.contracts.TestUSD,
    abi: testUsdAbi,
    functionName: 'balanceOf',
    args: [address],
  })
}

function reload(car: DemoCar, amount: bigint) {
  return confirm(
    clients.owner.writeContract({
      address: car.walletAddress,
      abi: carWalletAbi,
      functionName: 'reload',
      args: [amount],
    }),
  )
}

describe('deployDemo', () => {
  it('uses Anvil’s default dev accounts 0, 1 and 2', () => {
    const mnemonic = 'test test test test test test test test test test test junk'
    expect(demoAccounts.lender.address).toBe(mnemonicToAccount(mnemonic, { addressIndex: 0 }).address)
    expect(demoAccounts.owner.address).toBe(mnemonicToAccount(mnemonic, { addressIndex: 1 }).address)
    expect(demoAccounts.operator.address).toBe(mnemonicToAccount(mnemonic, { addressIndex: 2 }).address)
    expect(deployment.accounts.lender).toEqual(demoAccounts.lender)
    expect(deployment.chainId).toBe(31_337)
  })

  it('deploys TestUSD as a 6-decimal token anyone can mint, and a CarLoan paying in it', async () => {
    const read = (functionName: 'name' | 'symbol' | 'decimals') =>
      clients.publicClient.readContract({
        address: deployment.contracts.TestUSD,
        abi: testUsdAbi,
        functionName,
      })
    expect([await read('name'), await read('symbol'), await read('decimals')]).toEqual([
      'Test USD',
      'tUSD',
      6,
    ])
    const token = await clients.publicClient.readContract({
      address: deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'token',
    })
    expect(token).toBe(deployment.contracts.TestUSD)
  })
})

describe('createDemoCar and the loan', () => {
  it('opens the loan with lockAt = firstDueAt + grace and funds the owner', async () => {
    const car = await createDemoCar(deployment, { installment: 100_000_000n, installments: 12 })
    expect(car.period).toBe(30 * day)
    expect(car.grace).toBe(10 * day)
    expect(car.loanId).toBe(1n)

    const loan = await readLoan(car)
    expect(loan).toMatchObject({
      borrower: demoAccounts.owner.address,
      car: car.deviceId,
      wallet: car.walletAddress,
      lender: demoAccounts.lender.address,
      installment: 100_000_000n,
      period: BigInt(30 * day),
      grace: BigInt(10 * day),
      nextDueAt: car.firstDueAt,
      outstanding: 1_200_000_000n,
    })
    const [opened] = await clients.publicClient.getContractEvents({
      address: deployment.contracts.CarLoan,
      abi: carLoanAbi,
      eventName: 'LoanOpened',
      fromBlock: 0n,
    })
    expect(opened?.args).toMatchObject({
      loanId: 1n,
      car: car.deviceId,
      lockAt: car.firstDueAt + BigInt(10 * day),
      // the warning stage starts at the due date, the final warning 48 hours before lockAt
      warnAt: car.firstDueAt,
      finalWarningAt: car.firstDueAt + BigInt(8 * day),
    })
    const lockAt = await clients.publicClient.readContract({
      address: deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'lockAt',
      args: [car.loanId],
    })
    expect(lockAt).toBe(car.firstDueAt + BigInt(car.grace))

    expect(await tokenBalance(demoAccounts.owner.address)).toBe(10_000_000_000n)
    const allowance = await clients.publicClient.readContract({
      address: deployment.contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'allowance',
      args: [demoAccounts.owner.address, car.walletAddress],
    })
    expect(allowance).toBeGreaterThanOrEqual(10_000_000_000n)
  })

  it('is delinquent from lockAt on, not one second before', async () => {
    const car = await createDemoCar(deployment, { period: 30 * day, grace: 2 * day })
    const lockAt = car.firstDueAt + BigInt(2 * day)
    const isDelinquent = (blockNumber: bigint) =>
      clients.publicClient.readContract({
        address: deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'isDelinquent',
        args: [car.loanId],
        blockNumber,
      })
    expect(await isDelinquent(await mineAt(car.firstDueAt))).toBe(false)
    expect(await isDelinquent(await mineAt(lockAt - 1n))).toBe(false)
    expect(await isDelinquent(await mineAt(lockAt))).toBe(true)
  })

  it('a reload pays the payable installment and moves nextDueAt one period on', async () => {
    const car = await createDemoCar(deployment, { installment: 250_000_000n })
    const lenderBefore = await tokenBalance(demoAccounts.lender.address)

    const receipt = await reload(car, 250_000_000n)
    const walletEvents = parseEventLogs({ abi: carWalletAbi, logs: receipt.logs })
    expect(walletEvents.map((e) => e.eventName)).toEqual(['Reloaded', 'Paid'])
    const [paid] = parseEventLogs({ abi: carLoanAbi, eventName: 'InstallmentPaid', logs: receipt.logs })
    const nextDueAt = car.firstDueAt + BigInt(car.period)
    expect(paid?.args).toMatchObject({
      loanId: car.loanId,
      payer: car.walletAddress,
      amount: 250_000_000n,
      outstanding: 250_000_000n * 11n,
      nextDueAt,
      lockAt: nextDueAt + BigInt(car.grace),
      warnAt: nextDueAt,
      finalWarningAt: nextDueAt + BigInt(car.grace - car.policy.finalWarning),
    })
    expect(await readLoan(car)).toMatchObject({ nextDueAt, outstanding: 250_000_000n * 11n })
    expect(await tokenBalance(demoAccounts.lender.address)).toBe(lenderBefore + 250_000_000n)
    expect(await tokenBalance(car.walletAddress)).toBe(0n)

    // The next installment is not payable until its period starts: the wallet holds the money till then.
    const early = await reload(car, 250_000_000n)
    expect(parseEventLogs({ abi: carWalletAbi, eventName: 'Paid', logs: early.logs })).toHaveLength(0)
    expect(await tokenBalance(car.walletAddress)).toBe(250_000_000n)
    await mineAt(car.firstDueAt)
    const keeper = await confirm(
      clients.operator.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'payDue',
      }),
    )
    expect(parseEventLogs({ abi: carWalletAbi, eventName: 'Paid', logs: keeper.logs })).toHaveLength(1)
    expect((await readLoan(car)).nextDueAt).toBe(nextDueAt + BigInt(car.period))
  })

  it('a partial reload holds the balance; a later reload that covers the installment pays', async () => {
    const car = await createDemoCar(deployment, { installment: 250_000_000n })
    const first = await reload(car, 100_000_000n)
    const [reloaded] = parseEventLogs({ abi: carWalletAbi, eventName: 'Reloaded', logs: first.logs })
    expect(reloaded?.args).toMatchObject({
      from: demoAccounts.owner.address,
      amount: 100_000_000n,
      balance: 100_000_000n,
    })
    expect(parseEventLogs({ abi: carWalletAbi, eventName: 'Paid', logs: first.logs })).toHaveLength(0)
    expect((await readLoan(car)).nextDueAt).toBe(car.firstDueAt)

    const second = await reload(car, 150_000_000n)
    const [paid] = parseEventLogs({ abi: carWalletAbi, eventName: 'Paid', logs: second.logs })
    expect(paid?.args).toEqual({ loanId: car.loanId, amount: 250_000_000n })
    expect(await tokenBalance(car.walletAddress)).toBe(0n)
    expect((await readLoan(car)).nextDueAt).toBe(car.firstDueAt + BigInt(car.period))
  })

  it('catches up on every missed installment in one reload and emits LoanRepaid with the last', async () => {
    const car = await createDemoCar(deployment, {
      installment: 50_000_000n,
      installments: 3,
      period: 5 * day,
      grace: 2 * day,
    })
    // Two periods late: all three installments are payable, and the loan is delinquent.
    await mineAt(car.firstDueAt + BigInt(10 * day))
    const receipt = await reload(car, 150_000_000n)
    const loanEvents = parseEventLogs({ abi: carLoanAbi, logs: receipt.logs })
    expect(loanEvents.map((e) => e.eventName)).toEqual([
      'InstallmentPaid',
      'InstallmentPaid',
      'InstallmentPaid',
      'LoanRepaid',
    ])
    expect(parseEventLogs({ abi: carWalletAbi, eventName: 'Paid', logs: receipt.logs })).toHaveLength(3)
    expect((await readLoan(car)).outstanding).toBe(0n)
    const read = (functionName: 'isDelinquent' | 'isPayable') =>
      clients.publicClient.readContract({
        address: deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName,
        args: [car.loanId],
      })
    expect(await read('isDelinquent')).toBe(false)
    expect(await read('isPayable')).toBe(false)
    await expect(
      clients.owner.writeContract({
        address: deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'payInstallment',
        args: [car.loanId],
      }),
    ).rejects.toThrow(/NothingOutstanding/)
  })

  it('rejects unknown loans by name', async () => {
    await expect(
      clients.publicClient.readContract({
        address: deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [99n],
      }),
    ).rejects.toThrow(/UnknownLoan/)
  })

  it('only the owner can rebind or withdraw from the car wallet', async () => {
    const car = await createDemoCar(deployment)
    await expect(
      clients.operator.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'withdraw',
        args: [demoAccounts.operator.address, 1n],
      }),
    ).rejects.toThrow(/NotOwner/)
    await expect(
      clients.lender.writeContract({
        address: car.walletAddress,
        abi: carWalletAbi,
        functionName: 'bindLoan',
        args: [deployment.contracts.CarLoan, car.loanId],
      }),
    ).rejects.toThrow(/NotOwner/)
  })
})

describe('DeviceRegistry', () => {
  it("registers the car for the lender (the dealer) with pbj as operator; only the device's owner manages operators", async () => {
    const car = await createDemoCar(deployment)
    const registry = { address: deployment.contracts.DeviceRegistry, abi: deviceRegistryAbi } as const
    const isOperator = () =>
      clients.publicClient.readContract({
        ...registry,
        functionName: 'isOperator',
        args: [car.deviceId, demoAccounts.operator.address],
      })
    expect(
      await clients.publicClient.readContract({ ...registry, functionName: 'owners', args: [car.deviceId] }),
    ).toBe(demoAccounts.lender.address)
    expect(await isOperator()).toBe(true)

    await expect(
      clients.owner.writeContract({
        ...registry,
        functionName: 'removeOperator',
        args: [car.deviceId, demoAccounts.operator.address],
      }),
    ).rejects.toThrow(/NotDeviceOwner/)
    await expect(
      clients.operator.writeContract({
        ...registry,
        functionName: 'addOperator',
        args: [car.deviceId, demoAccounts.lender.address],
      }),
    ).rejects.toThrow(/NotDeviceOwner/)

    const removed = await confirm(
      clients.lender.writeContract({
        ...registry,
        functionName: 'removeOperator',
        args: [car.deviceId, demoAccounts.operator.address],
      }),
    )
    expect(parseEventLogs({ abi: deviceRegistryAbi, logs: removed.logs })[0]).toMatchObject({
      eventName: 'OperatorRemoved',
      args: { device: car.deviceId, operator: demoAccounts.operator.address },
    })
    expect(await isOperator()).toBe(false)

    const added = await confirm(
      clients.lender.writeContract({
        ...registry,
        functionName: 'addOperator',
        args: [car.deviceId, demoAccounts.operator.address],
      }),
    )
    expect(parseEventLogs({ abi: deviceRegistryAbi, logs: added.logs })[0]?.eventName).toBe('OperatorAdded')
    expect(await isOperator()).toBe(true)

    await expect(
      clients.lender.writeContract({
        ...registry,
        functionName: 'register',
        args: [car.deviceId, demoAccounts.lender.address, 0n, '0x'],
      }),
    ).rejects.toThrow(/AlreadyRegistered/)
  })
})

describe('the immobilizer policy on chain', () => {
  const at = (blockNumber?: bigint) => (blockNumber === undefined ? {} : { blockNumber })
  const policyOf = (car: DemoCar) =>
    clients.publicClient.readContract({
      address: deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'policyOf',
      args: [car.loanId],
    })
  const finalWarningAt = (car: DemoCar) =>
    clients.publicClient.readContract({
      address: deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'finalWarningAt',
      args: [car.loanId],
    })
  const stageOf = (car: DemoCar, blockNumber?: bigint) =>
    clients.publicClient.readContract({
      address: deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'stageOf',
      args: [car.loanId],
      ...at(blockNumber),
    })

  it('keeps the policy with the loan, readable by anyone, the borrower included', async () => {
    const car = await createDemoCar(deployment, { grace: 7 * day, policy: { emergencyStarts: 5 } })
    expect(await policyOf(car)).toEqual({
      warningPeriod: BigInt(7 * day),
      finalWarning: BigInt(2 * day),
      emergencyStarts: 5,
      emergencyDuration: BigInt(day),
    })
    expect(car.policy).toEqual({
      warningPeriod: 7 * day,
      finalWarning: 2 * day,
      emergencyStarts: 5,
      emergencyDuration: day,
    })
    expect(await finalWarningAt(car)).toBe(car.firstDueAt + BigInt(5 * day))
  })

  it('walks the stages by chain time: current, warning from the due date, final warning, disable at lockAt', async () => {
    const car = await createDemoCar(deployment)
    const lockAt = car.firstDueAt + BigInt(car.grace)
    const finalAt = lockAt - BigInt(car.policy.finalWarning)
    const stages = []
    for (const t of [car.firstDueAt - 1n, car.firstDueAt, finalAt - 1n, finalAt, lockAt - 1n, lockAt]) {
      stages.push(await stageOf(car, await mineAt(t)))
    }
    expect(stages).toEqual([0, 1, 1, 2, 2, 3])
    // paying the installment makes the loan current again
    await reload(car, car.installment)
    expect(await stageOf(car)).toBe(0)
  })

  it.each([
    [{ finalWarning: 2 * day - 1 }, 'finalWarning >= 48 hours'],
    [{ warningPeriod: day, finalWarning: 2 * day }, 'warningPeriod >= finalWarning'],
    [{ warningPeriod: 11 * day }, 'warningPeriod <= grace'],
    [{ emergencyStarts: 0 }, 'emergencyStarts >= 1'],
    [{ emergencyDuration: day - 1 }, 'emergencyDuration >= 24 hours'],
  ])('refuses to open a loan whose policy breaks a rule: %o', async (policy, rule) => {
    await expect(createDemoCar(deployment, { policy })).rejects.toThrow(rule)
  })

  it('refuses a grace period too short for a 48-hour final warning', async () => {
    await expect(createDemoCar(deployment, { grace: day })).rejects.toThrow('warningPeriod >= finalWarning')
  })
})
