// Every restricted contract function called from an outsider's account on a real Anvil: who may register a
// device, open a loan on a car, manage a device's operators, claim a project, settle or set prices. Each
// attack is the one an outsider with a little ETH would try; each must revert with the contract's reason and
// leave the victim's state exactly as it was.
import {
  carLoanAbi,
  carWalletAbi,
  deviceRegistryAbi,
  executionBalanceAbi,
  testUsdAbi,
} from '@pbj/contracts/artifacts'
import {
  type Address,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  parseEther,
  zeroAddress,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type AnvilNode, startAnvil } from '../packages/pbj/src/chain/startAnvil.js'
import { demoAccounts } from '../packages/pbj/src/demo/accounts.js'
import { demoClients } from '../packages/pbj/src/demo/demoClients.js'
import { createDemoCar, type DemoDeployment, deployDemo } from '../packages/pbj/src/demo/deployDemo.js'
import {
  type LoanPolicy,
  type LoanTerms,
  signDeviceRegistration,
  signLoanConsent,
} from '../packages/pbj/src/demo/signConsents.js'
import { projectIdOf, saltOf } from '../packages/pbj/src/payment/projectIdOf.js'

const day = 86_400n
let anvil: AnvilNode
let deployment: DemoDeployment
let clients: ReturnType<typeof demoClients>
let test: ReturnType<typeof createTestClient>
let snapshot: Hex
const outsiderKey = generatePrivateKey()
const outsider = privateKeyToAccount(outsiderKey)

beforeAll(async () => {
  anvil = await startAnvil()
  deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
  clients = demoClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
  test = createTestClient({ chain: clients.chain, mode: 'anvil', transport: http(anvil.rpcUrl) })
  // A little ETH is all an outsider needs.
  await test.setBalance({ address: outsider.address, value: parseEther('10') })
})
afterAll(async () => {
  await anvil?.stop()
})
beforeEach(async () => {
  snapshot = await test.snapshot()
})
afterEach(async () => {
  await test.revert({ id: snapshot })
})

const wallet = (key: Hex) =>
  createWalletClient({
    account: privateKeyToAccount(key),
    chain: clients.chain,
    transport: http(anvil.rpcUrl),
  })
const registry = () => ({ address: deployment.contracts.DeviceRegistry, abi: deviceRegistryAbi }) as const
const carLoan = () => ({ address: deployment.contracts.CarLoan, abi: carLoanAbi }) as const
const balance = () => ({ address: deployment.contracts.ExecutionBalance, abi: executionBalanceAbi }) as const
const now = async () => (await clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp
/** A view call, typed loosely: the tests compare its result to literal values. */
const read = <T = unknown>(request: Record<string, unknown>) =>
  clients.publicClient.readContract(request as never) as Promise<T>

/** Sends a transaction and expects it to land. */
async function send(key: Hex, request: Record<string, unknown>) {
  const hash = await wallet(key).writeContract(request as never)
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}

const policy: LoanPolicy = {
  warningPeriod: 10n * day,
  finalWarning: 2n * day,
  emergencyStarts: 3,
  emergencyDuration: day,
}

/** Terms for `car` lent by `lender` to the demo owner, first due in 30 days. */
async function termsFor(
  car: Address,
  lender: Address,
  overrides: Partial<LoanTerms> = {},
): Promise<LoanTerms> {
  return {
    borrower: demoAccounts.owner.address,
    car,
    wallet: demoAccounts.owner.address,
    lender,
    installment: 1_000_000n,
    period: 30n * day,
    grace: 10n * day,
    installments: 3,
    firstDueAt: (await now()) + 30n * day,
    ...overrides,
  }
}

async function consentOf(terms: LoanTerms, options: { key?: Hex; nonce?: bigint; policy?: LoanPolicy } = {}) {
  return signLoanConsent({
    borrowerKey: options.key ?? demoAccounts.owner.privateKey,
    terms,
    policy: options.policy ?? policy,
    nonce:
      options.nonce ??
      (await read<bigint>({ ...carLoan(), functionName: 'consentNonce', args: [terms.borrower] })),
    chainId: anvil.chainId,
    carLoan: deployment.contracts.CarLoan,
    now: await now(),
  })
}

/** A device registered (with its own signature) to `ownerKey`'s account, returned with its key. */
async function registeredDevice(ownerKey: Hex = demoAccounts.lender.privateKey) {
  const devicePrivateKey = generatePrivateKey()
  const owner = privateKeyToAccount(ownerKey).address
  const { device, deadline, signature } = await signDeviceRegistration({
    devicePrivateKey,
    owner,
    chainId: anvil.chainId,
    registry: deployment.contracts.DeviceRegistry,
    now: await now(),
  })
  await send(ownerKey, {
    ...registry(),
    functionName: 'register',
    args: [device, owner, deadline, signature],
  })
  return { device, devicePrivateKey }
}

describe('DeviceRegistry: only the device key can register it', () => {
  it('refuses a registration not signed by the device (an outsider claiming a car it does not hold)', async () => {
    const device = privateKeyToAddress(generatePrivateKey())
    const forged = await signDeviceRegistration({
      devicePrivateKey: outsiderKey,
      owner: outsider.address,
      chainId: anvil.chainId,
      registry: deployment.contracts.DeviceRegistry,
      now: await now(),
    })
    await expect(
      wallet(outsiderKey).writeContract({
        ...registry(),
        functionName: 'register',
        args: [device, outsider.address, forged.deadline, forged.signature],
      }),
    ).rejects.toThrow(/BadDeviceSignature/)
    expect(await read({ ...registry(), functionName: 'owners', args: [device] })).toBe(zeroAddress)
  })

  it('refuses a genuine device signature replayed with another owner, chain or registry, expired or malleated', async () => {
    const devicePrivateKey = generatePrivateKey()
    const base = {
      devicePrivateKey,
      owner: demoAccounts.lender.address,
      chainId: anvil.chainId,
      registry: deployment.contracts.DeviceRegistry,
      now: await now(),
    }
    const genuine = await signDeviceRegistration(base)
    const register = (owner: Address, deadline: bigint, signature: Hex) =>
      wallet(outsiderKey).writeContract({
        ...registry(),
        functionName: 'register',
        args: [genuine.device, owner, deadline, signature],
      })
    // The device signed for the lender; the outsider names itself.
    await expect(register(outsider.address, genuine.deadline, genuine.signature)).rejects.toThrow(
      /BadDeviceSignature/,
    )
    const otherChain = await signDeviceRegistration({ ...base, chainId: anvil.chainId + 1 })
    await expect(register(base.owner, otherChain.deadline, otherChain.signature)).rejects.toThrow(
      /BadDeviceSignature/,
    )
    const otherRegistry = await signDeviceRegistration({ ...base, registry: deployment.contracts.CarLoan })
    await expect(register(base.owner, otherRegistry.deadline, otherRegistry.signature)).rejects.toThrow(
      /BadDeviceSignature/,
    )
    const expired = await signDeviceRegistration({ ...base, now: base.now - 7_200n })
    await expect(register(base.owner, expired.deadline, expired.signature)).rejects.toThrow(
      /RegistrationExpired/,
    )
    // (r, n - s, v ^ 1) is the same signature's malleable twin: refused, only low-s is accepted (EIP-2).
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const r = genuine.signature.slice(2, 66)
    const s = BigInt(`0x${genuine.signature.slice(66, 130)}`)
    const v = Number.parseInt(genuine.signature.slice(130, 132), 16)
    const twin = `0x${r}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex
    await expect(register(base.owner, genuine.deadline, twin)).rejects.toThrow(/BadDeviceSignature/)
    // The genuine one, submitted by anyone, registers the device to the owner it names.
    await send(outsiderKey, {
      ...registry(),
      functionName: 'register',
      args: [genuine.device, base.owner, genuine.deadline, genuine.signature],
    })
    expect(await read({ ...registry(), functionName: 'owners', args: [genuine.device] })).toBe(base.owner)
    // Registered once: the same signature cannot move it.
    await expect(register(base.owner, genuine.deadline, genuine.signature)).rejects.toThrow(
      /AlreadyRegistered/,
    )
  })

  it('lets only the device owner add or remove operators', async () => {
    const { device } = await registeredDevice()
    for (const functionName of ['addOperator', 'removeOperator'] as const) {
      await expect(
        wallet(outsiderKey).writeContract({ ...registry(), functionName, args: [device, outsider.address] }),
      ).rejects.toThrow(/NotDeviceOwner/)
    }
    expect(await read({ ...registry(), functionName: 'isOperator', args: [device, outsider.address] })).toBe(
      false,
    )
  })
})

describe('CarLoan: only the car’s registry owner opens a loan, with the borrower’s consent, one at a time', () => {
  it("refuses an outsider's loan on someone else's paid-up car, and keeps the real loan in place", async () => {
    const car = await createDemoCar(deployment)
    const before = await read({ ...carLoan(), functionName: 'getLoan', args: [car.loanId] })
    // The outsider even has the borrower's consent to their terms (the worst case): still not theirs to open.
    const terms = await termsFor(car.deviceId, outsider.address)
    const consent = await consentOf(terms)
    await expect(
      wallet(outsiderKey).writeContract({
        ...carLoan(),
        functionName: 'openLoan',
        args: [terms, policy, consent.deadline, consent.signature],
      }),
    ).rejects.toThrow(/NotCarController/)
    expect(await read({ ...carLoan(), functionName: 'activeLoanOf', args: [car.deviceId] })).toBe(car.loanId)
    expect(await read({ ...carLoan(), functionName: 'getLoan', args: [car.loanId] })).toEqual(before)
    expect(await read({ ...carLoan(), functionName: 'isCarDelinquent', args: [car.deviceId] })).toBe(false)
  })

  it('refuses a delinquent borrower opening a second loan on their own car to get it unlocked', async () => {
    const car = await createDemoCar(deployment)
    await test.setNextBlockTimestamp({ timestamp: car.firstDueAt + BigInt(car.grace) })
    await test.mine({ blocks: 1 })
    expect(await read({ ...carLoan(), functionName: 'isCarDelinquent', args: [car.deviceId] })).toBe(true)
    const terms = await termsFor(car.deviceId, demoAccounts.owner.address)
    const consent = await consentOf(terms)
    await expect(
      wallet(demoAccounts.owner.privateKey).writeContract({
        ...carLoan(),
        functionName: 'openLoan',
        args: [terms, policy, consent.deadline, consent.signature],
      }),
    ).rejects.toThrow(/NotCarController/)
    // Not even the car's registry owner may replace a loan with money owed.
    const lenderTerms = await termsFor(car.deviceId, demoAccounts.lender.address)
    const lenderConsent = await consentOf(lenderTerms)
    await expect(
      wallet(demoAccounts.lender.privateKey).writeContract({
        ...carLoan(),
        functionName: 'openLoan',
        args: [lenderTerms, policy, lenderConsent.deadline, lenderConsent.signature],
      }),
    ).rejects.toThrow(/CarHasActiveLoan/)
    expect(await read({ ...carLoan(), functionName: 'activeLoanOf', args: [car.deviceId] })).toBe(car.loanId)
    expect(await read({ ...carLoan(), functionName: 'isCarDelinquent', args: [car.deviceId] })).toBe(true)
  })

  it('refuses an unregistered car, a lender other than the caller, and consent not signed by the borrower', async () => {
    const lender = demoAccounts.lender
    const open = (terms: LoanTerms, consent: { deadline: bigint; signature: Hex }, p = policy) =>
      wallet(lender.privateKey).writeContract({
        ...carLoan(),
        functionName: 'openLoan',
        args: [terms, p, consent.deadline, consent.signature],
      })
    const stray = privateKeyToAddress(generatePrivateKey())
    const strayTerms = await termsFor(stray, lender.address)
    await expect(open(strayTerms, await consentOf(strayTerms))).rejects.toThrow(/NotCarController/)

    const { device } = await registeredDevice()
    const otherLender = await termsFor(device, outsider.address)
    await expect(open(otherLender, await consentOf(otherLender))).rejects.toThrow(/LenderMismatch/)

    const terms = await termsFor(device, lender.address)
    // Signed by someone else than the borrower it names.
    await expect(open(terms, await consentOf(terms, { key: outsiderKey }))).rejects.toThrow(/BadConsent/)
    // Signed by the borrower, for other terms: a larger installment, a shorter grace, a weaker policy.
    const consent = await consentOf(terms)
    await expect(open({ ...terms, installment: terms.installment * 2n }, consent)).rejects.toThrow(
      /BadConsent/,
    )
    await expect(open({ ...terms, grace: terms.grace - 1n }, consent)).rejects.toThrow(
      /BadConsent|InvalidPolicy/,
    )
    await expect(open(terms, consent, { ...policy, emergencyStarts: 1 })).rejects.toThrow(/BadConsent/)
    // Expired.
    const stale = await signLoanConsent({
      borrowerKey: demoAccounts.owner.privateKey,
      terms,
      policy,
      nonce: 0n,
      chainId: anvil.chainId,
      carLoan: deployment.contracts.CarLoan,
      now: (await now()) - 7_200n,
    })
    await expect(open(terms, stale)).rejects.toThrow(/ConsentExpired/)
    expect(await read({ ...carLoan(), functionName: 'activeLoanOf', args: [device] })).toBe(0n)
    // The genuine consent opens it.
    await send(lender.privateKey, {
      ...carLoan(),
      functionName: 'openLoan',
      args: [terms, policy, consent.deadline, consent.signature],
    })
    expect(await read({ ...carLoan(), functionName: 'hasActiveLoan', args: [device] })).toBe(true)
  })

  it('uses each consent once, lets the borrower revoke unused ones, and frees the car only once repaid', async () => {
    const lender = demoAccounts.lender
    const { device } = await registeredDevice()
    const terms = await termsFor(device, lender.address, { installments: 1 })
    const consent = await consentOf(terms)
    const open = (c: { deadline: bigint; signature: Hex }) =>
      wallet(lender.privateKey).writeContract({
        ...carLoan(),
        functionName: 'openLoan',
        args: [terms, policy, c.deadline, c.signature],
      })
    await send(lender.privateKey, {
      ...carLoan(),
      functionName: 'openLoan',
      args: [terms, policy, consent.deadline, consent.signature],
    })
    const loanId = await read<bigint>({ ...carLoan(), functionName: 'activeLoanOf', args: [device] })
    // Repay it (anyone may pay): the car is free, the record stays.
    const owner = demoAccounts.owner
    await send(owner.privateKey, {
      address: deployment.contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'mint',
      args: [owner.address, terms.installment],
    })
    await send(owner.privateKey, {
      address: deployment.contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'approve',
      args: [deployment.contracts.CarLoan, terms.installment],
    })
    await send(owner.privateKey, { ...carLoan(), functionName: 'payInstallment', args: [loanId] })
    expect(await read({ ...carLoan(), functionName: 'activeLoanOf', args: [device] })).toBe(0n)
    // The used consent cannot open a second loan.
    await expect(open(consent)).rejects.toThrow(/BadConsent/)
    // A fresh consent, revoked before use, cannot either.
    const fresh = await consentOf(terms)
    await send(owner.privateKey, { ...carLoan(), functionName: 'revokeConsents' })
    await expect(open(fresh)).rejects.toThrow(/BadConsent/)
    expect(await read({ ...carLoan(), functionName: 'getLoan', args: [loanId] })).toMatchObject({
      car: device,
      outstanding: 0n,
    })
  })
})

describe('CarWallet and ExecutionBalance: owners and the operator only', () => {
  it('refuses an outsider rebinding or emptying a car wallet', async () => {
    const car = await createDemoCar(deployment)
    const w = { address: car.walletAddress, abi: carWalletAbi } as const
    await expect(
      wallet(outsiderKey).writeContract({
        ...w,
        functionName: 'bindLoan',
        args: [deployment.contracts.CarLoan, 1n],
      }),
    ).rejects.toThrow(/NotOwner/)
    await expect(
      wallet(outsiderKey).writeContract({ ...w, functionName: 'withdraw', args: [outsider.address, 1n] }),
    ).rejects.toThrow(/NotOwner/)
  })

  it("binds project ids to their owner: an outsider cannot claim, fund-then-own or drain another's project", async () => {
    const owner = demoAccounts.owner
    const salt = 'fleet-7'
    const projectId = projectIdOf(owner.address, salt)
    expect(
      await read({ ...balance(), functionName: 'projectIdOf', args: [owner.address, saltOf(salt)] }),
    ).toBe(projectId)
    // The outsider opening "the same" salt gets its own id, not the owner's.
    await send(outsiderKey, { ...balance(), functionName: 'openProject', args: [saltOf(salt)] })
    expect(await read({ ...balance(), functionName: 'ownerOf', args: [projectId] })).toBe(zeroAddress)
    expect(
      await read({ ...balance(), functionName: 'ownerOf', args: [projectIdOf(outsider.address, salt)] }),
    ).toBe(outsider.address)
    // A deposit no longer claims an unowned id.
    await expect(
      wallet(outsiderKey).writeContract({ ...balance(), functionName: 'deposit', args: [projectId, 0n] }),
    ).rejects.toThrow(/UnknownProject/)
    await send(owner.privateKey, { ...balance(), functionName: 'openProject', args: [saltOf(salt)] })
    expect(await read({ ...balance(), functionName: 'ownerOf', args: [projectId] })).toBe(owner.address)
    await send(owner.privateKey, {
      address: deployment.contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'mint',
      args: [owner.address, 5_000_000n],
    })
    await send(owner.privateKey, {
      address: deployment.contracts.TestUSD,
      abi: testUsdAbi,
      functionName: 'approve',
      args: [deployment.contracts.ExecutionBalance, 5_000_000n],
    })
    await send(owner.privateKey, { ...balance(), functionName: 'deposit', args: [projectId, 5_000_000n] })
    await expect(
      wallet(outsiderKey).writeContract({
        ...balance(),
        functionName: 'withdraw',
        args: [projectId, 1n, outsider.address],
      }),
    ).rejects.toThrow(/NotOwner/)
    await expect(
      wallet(outsiderKey).writeContract({ ...balance(), functionName: 'setPrices', args: [1n, 1n, 1n, 1n] }),
    ).rejects.toThrow(/NotOperator/)
    await expect(
      wallet(outsiderKey).writeContract({
        ...balance(),
        functionName: 'settle',
        args: [projectId, 5_000_000n, `0x${'00'.repeat(32)}`, 1n, 1n],
      }),
    ).rejects.toThrow(/NotOperator/)
    expect(await read({ ...balance(), functionName: 'balanceOf', args: [projectId] })).toBe(5_000_000n)
  })
})
