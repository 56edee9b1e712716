import {
  carLoanAbi,
  carWalletAbi,
  carWalletBytecode,
  deviceRegistryAbi,
  testUsdAbi,
} from '@pbj/contracts/artifacts'
import { type Address, getAddress, type Hash, type Hex, maxUint256, parseEventLogs } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { DemoCheckError, TransactionRevertedError } from '../internal/errors.js'
import { type DemoClients, demoClients } from './demoClients.js'
import type { DemoDeployment } from './deployDemo.js'
import { type LoanPolicy, type LoanTerms, signDeviceRegistration, signLoanConsent } from './signConsents.js'

export type CreateDemoCarParams = {
  /** Installment in tUSD base units (6 decimals); default 250 tUSD. */
  installment?: bigint | undefined
  /** Seconds between due dates; default 30 days. */
  period?: number | undefined
  /** Seconds after a due date before the car may be locked; default 10 days (at least 48 hours). */
  grace?: number | undefined
  /**
   * The loan's immobilizer policy (seconds), fixed on chain with the loan. Defaults: the warning stage is the
   * whole grace period, the final warning starts 48 hours before lockAt, 3 emergency restarts of 24 hours.
   */
  policy?: Partial<DemoPolicy> | undefined
  /** Number of installments; default 12. */
  installments?: number | undefined
  /** The car's device key; a fresh one is generated when omitted. */
  devicePrivateKey?: Hex | undefined
}

/**
 * A loan's immobilizer policy, in seconds: what `CarLoan.policyOf` returns, as numbers.
 *
 * @example
 * const policy: DemoPolicy = { warningPeriod: 864_000, finalWarning: 172_800, emergencyStarts: 3, emergencyDuration: 86_400 }
 */
export type DemoPolicy = {
  warningPeriod: number
  finalWarning: number
  emergencyStarts: number
  emergencyDuration: number
}

export type DemoCar = {
  /** The car's id: the address of its device key, as registered in DeviceRegistry and named in the loan. */
  deviceId: Address
  devicePrivateKey: Hex
  /** The car's CarWallet, owned by the owner account and bound to the loan. */
  walletAddress: Address
  loanId: bigint
  installment: bigint
  installments: number
  /** Seconds. */
  period: number
  /** Seconds. */
  grace: number
  /**
   * Unix seconds of the first due date; a bigint, as viem reads the contract's uint64. The car may be locked
   * from firstDueAt + grace.
   */
  firstDueAt: bigint
  policy: DemoPolicy
}

const day = 24 * 60 * 60
/** What the owner gets to reload the car's wallet with: 10,000 tUSD. */
const ownerFunds = 10_000_000_000n

/**
 * Sets up one financed car on a {@link DemoDeployment}, the way a dealer would: the lender registers the
 * car's device key with the key's own signature (owner = lender, operator = pbj's account), the owner deploys
 * the car's CarWallet and signs consent to the loan's terms and immobilizer policy, the lender opens the loan
 * (first installment due one period from now), the owner binds the wallet to it, and gets
 * 10,000 tUSD approved to the wallet.
 * Prints nothing.
 *
 * @example
 * const car = await createDemoCar(deployment, { grace: 5 * 86_400, policy: { emergencyStarts: 1 } })
 * // the owner pays the first installment through the car's wallet:
 * await owner.writeContract({ address: car.walletAddress, abi: carWalletAbi, functionName: 'reload', args: [car.installment] })
 */
export async function createDemoCar(
  deployment: DemoDeployment,
  params: CreateDemoCarParams = {},
): Promise<DemoCar> {
  const installment = params.installment ?? 250_000_000n
  const period = params.period ?? 30 * day
  const grace = params.grace ?? 10 * day
  // California Civil Code §2983.37: warn before disabling, a final warning at least 48 hours before, emergency
  // restarts of at least 24 hours. The contract refuses a policy that breaks these rules.
  const policy: DemoPolicy = {
    warningPeriod: grace,
    finalWarning: 2 * day,
    emergencyStarts: 3,
    emergencyDuration: day,
    ...params.policy,
  }
  const installments = params.installments ?? 12
  const devicePrivateKey = params.devicePrivateKey ?? generatePrivateKey()
  const deviceId = privateKeyToAddress(devicePrivateKey)
  const { contracts, accounts } = deployment
  const clients = demoClients({
    rpcUrl: deployment.rpcUrl,
    chainId: deployment.chainId,
    lenderKey: accounts.lender.privateKey,
  })
  const { owner, lender } = clients

  // The dealer (the lender) registers the car with the proof that it holds the car's key, and so controls
  // its registry entry: who may command it (pbj's operator) and who may finance it.
  const registration = await signDeviceRegistration({
    devicePrivateKey,
    owner: accounts.lender.address,
    chainId: deployment.chainId,
    registry: contracts.DeviceRegistry,
    now: (await clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp,
  })
  await confirm(
    clients,
    await lender.writeContract({
      address: contracts.DeviceRegistry,
      abi: deviceRegistryAbi,
      functionName: 'register',
      args: [deviceId, accounts.lender.address, registration.deadline, registration.signature],
    }),
  )
  await confirm(
    clients,
    await lender.writeContract({
      address: contracts.DeviceRegistry,
      abi: deviceRegistryAbi,
      functionName: 'addOperator',
      args: [deviceId, accounts.operator.address],
    }),
  )
  const walletReceipt = await confirm(
    clients,
    await owner.deployContract({
      abi: carWalletAbi,
      bytecode: carWalletBytecode,
      args: [contracts.TestUSD, accounts.owner.address],
    }),
  )
  if (!walletReceipt.contractAddress)
    throw new DemoCheckError('deploying the demo CarWallet returned no contract address')
  // Receipts carry lowercase addresses; checksum them so they compare equal to what events decode to.
  const walletAddress = getAddress(walletReceipt.contractAddress)

  // Due dates follow chain time, which tests and the demo move with evm_increaseTime: not the wall clock.
  const latest = await clients.publicClient.getBlock({ blockTag: 'latest' })
  const firstDueAt = latest.timestamp + BigInt(period)
  const terms: LoanTerms = {
    borrower: accounts.owner.address,
    car: deviceId,
    wallet: walletAddress,
    lender: accounts.lender.address,
    installment,
    period: BigInt(period),
    grace: BigInt(grace),
    installments,
    firstDueAt,
  }
  const loanPolicy: LoanPolicy = {
    warningPeriod: BigInt(policy.warningPeriod),
    finalWarning: BigInt(policy.finalWarning),
    emergencyStarts: policy.emergencyStarts,
    emergencyDuration: BigInt(policy.emergencyDuration),
  }
  // The borrower signs the terms and the immobilizer policy (the disclosure at sale); the lender opens.
  const consent = await signLoanConsent({
    borrowerKey: accounts.owner.privateKey,
    terms,
    policy: loanPolicy,
    nonce: await clients.publicClient.readContract({
      address: contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'consentNonce',
      args: [accounts.owner.address],
    }),
    chainId: deployment.chainId,
    carLoan: contracts.CarLoan,
    now: latest.timestamp,
  })
  const loanReceipt = await confirm(
    clients,
    await lender.writeContract({
      address: contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'openLoan',
      args: [terms, loanPolicy, consent.deadline, consent.signature],
    }),
  )
  const [opened] = parseEventLogs({ abi: carLoanAbi, eventName: 'LoanOpened', logs: loanReceipt.logs })
  if (!opened) throw new DemoCheckError('opening the demo loan emitted no LoanOpened event')
  const { loanId } = opened.args

  await confirm(
    clients,
    await owner.writeContract({
      address: walletAddress,
      abi: carWalletAbi,
      functionName: 'bindLoan',
      args: [contracts.CarLoan, loanId],
    }),
  )
  await confirm(
    clients,
    await owner.writeContract({
      address: contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'mint',
      args: [accounts.owner.address, ownerFunds],
    }),
  )
  await confirm(
    clients,
    await owner.writeContract({
      address: contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'approve',
      args: [walletAddress, maxUint256],
    }),
  )

  return {
    deviceId,
    devicePrivateKey,
    walletAddress,
    loanId,
    installment,
    installments,
    period,
    grace,
    firstDueAt,
    policy,
  }
}

async function confirm(clients: DemoClients, hash: Hash) {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new TransactionRevertedError({ hash, what: 'Demo transaction' })
  return receipt
}
