// The `contracts` group of `npm run attacks`: every restricted contract function called from an outsider's
// account (or a borrower acting beyond their rights) on a real Anvil. Each attack must revert with the
// contract's own reason and leave the victim's state as it was.
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
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { createDemoCar, type DemoCar } from '#pbj/demo/createDemoCar.js'
import { demoClients } from '#pbj/demo/demoClients.js'
import { type DemoDeployment, deployDemo } from '#pbj/demo/deployDemo.js'
import {
  type LoanPolicy,
  type LoanTerms,
  signDeviceRegistration,
  signLoanConsent,
} from '#pbj/demo/signConsents.js'
import { projectIdOf, saltOf } from '#pbj/payment/projectIdOf.js'
import { type Attack, type AttackOutcome, type AttackResult, expectRevert, runAttacks } from './attack.js'

const day = 86_400n

/** A real Anvil with the demo contracts, a paid-up car, a delinquent car, and an outsider with a little ETH. */
type Env = {
  anvil: AnvilNode
  deployment: DemoDeployment
  clients: ReturnType<typeof demoClients>
  outsiderKey: Hex
  outsider: Address
  /** A car whose borrower paid ahead: its loan is current. */
  paidCar: DemoCar
  /** A car whose loan is past due + grace. */
  lateCar: DemoCar
}

const policy: LoanPolicy = {
  warningPeriod: 10n * day,
  finalWarning: 2n * day,
  emergencyStarts: 3,
  emergencyDuration: day,
}

const wallet = (env: Env, key: Hex) =>
  createWalletClient({
    account: privateKeyToAccount(key),
    chain: env.clients.chain,
    transport: http(env.anvil.rpcUrl),
  })
const read = <T = unknown>(env: Env, request: Record<string, unknown>) =>
  env.clients.publicClient.readContract(request as never) as Promise<T>
const registry = (env: Env) =>
  ({ address: env.deployment.contracts.DeviceRegistry, abi: deviceRegistryAbi }) as const
const carLoan = (env: Env) => ({ address: env.deployment.contracts.CarLoan, abi: carLoanAbi }) as const
const balance = (env: Env) =>
  ({ address: env.deployment.contracts.ExecutionBalance, abi: executionBalanceAbi }) as const
const now = async (env: Env) => (await env.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp

/** Sends a transaction as `key` and waits for it to land (reverting sends reject before that). */
async function send(env: Env, key: Hex, request: Record<string, unknown>) {
  const hash = await wallet(env, key).writeContract(request as never)
  const receipt = await env.clients.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
  return receipt
}

/** Loan terms on `car` from `lender` to the demo owner, first due in 30 days. */
async function termsFor(env: Env, car: Address, lender: Address, over: Partial<LoanTerms> = {}) {
  return {
    borrower: demoAccounts.owner.address,
    car,
    wallet: demoAccounts.owner.address,
    lender,
    installment: 1_000_000n,
    period: 30n * day,
    grace: 10n * day,
    installments: 3,
    firstDueAt: (await now(env)) + 30n * day,
    ...over,
  } satisfies LoanTerms
}

/** The demo owner's consent to `terms` (or signed by `key`, or for `p`), at its current nonce. */
async function consentOf(env: Env, terms: LoanTerms, o: { key?: Hex; p?: LoanPolicy; at?: bigint } = {}) {
  return signLoanConsent({
    borrowerKey: o.key ?? demoAccounts.owner.privateKey,
    terms,
    policy: o.p ?? policy,
    nonce: await read<bigint>(env, { ...carLoan(env), functionName: 'consentNonce', args: [terms.borrower] }),
    chainId: env.anvil.chainId,
    carLoan: env.deployment.contracts.CarLoan,
    now: o.at ?? (await now(env)),
  })
}

/** A fresh device registered (with its own signature) to the lender, who may then finance it. */
async function lenderDevice(env: Env) {
  const devicePrivateKey = generatePrivateKey()
  const owner = demoAccounts.lender.address
  const r = await signDeviceRegistration({
    devicePrivateKey,
    owner,
    chainId: env.anvil.chainId,
    registry: env.deployment.contracts.DeviceRegistry,
    now: await now(env),
  })
  await send(env, demoAccounts.lender.privateKey, {
    ...registry(env),
    functionName: 'register',
    args: [r.device, owner, r.deadline, r.signature],
  })
  return r.device
}

const openLoan = (
  env: Env,
  key: Hex,
  terms: LoanTerms,
  c: { deadline: bigint; signature: Hex },
  p = policy,
) =>
  wallet(env, key).writeContract({
    ...carLoan(env),
    functionName: 'openLoan',
    args: [terms, p, c.deadline, c.signature],
  })

/** The device-registration attempts: each with a signature the device did not give for this registration. */
const registerAs = (
  kind: string,
  sign: (
    env: Env,
    base: Parameters<typeof signDeviceRegistration>[0],
  ) => Promise<{ deadline: bigint; signature: Hex }>,
  expected: string,
  owner: (env: Env) => Address = (env) => env.outsider,
): Attack<Env> => ({
  kind,
  async run(env) {
    const devicePrivateKey = generatePrivateKey()
    const device = privateKeyToAddress(devicePrivateKey)
    const base = {
      devicePrivateKey,
      owner: owner(env),
      chainId: env.anvil.chainId,
      registry: env.deployment.contracts.DeviceRegistry,
      now: await now(env),
    }
    const { deadline, signature } = await sign(env, base)
    const outcome = await expectRevert(
      () =>
        send(env, env.outsiderKey, {
          ...registry(env),
          functionName: 'register',
          args: [device, env.outsider, deadline, signature],
        }),
      expected,
    )
    const owned = await read(env, { ...registry(env), functionName: 'owners', args: [device] })
    return owned === zeroAddress
      ? outcome
      : { ...outcome, gotThrough: true, detail: `device now owned by ${owned}` }
  },
})

/** An outsider's call that must revert with `expected`. */
const outsiderCall = (
  kind: string,
  request: (env: Env) => Record<string, unknown>,
  expected: string,
): Attack<Env> => ({
  kind,
  run: (env) => expectRevert(() => send(env, env.outsiderKey, request(env)), expected),
})

/** Whether a car that must stay as it is (its loan current, or delinquent) still is; a wrong lock if not. */
async function carUnchanged(env: Env, car: DemoCar, outcome: AttackOutcome): Promise<AttackOutcome> {
  const active = await read<bigint>(env, {
    ...carLoan(env),
    functionName: 'activeLoanOf',
    args: [car.deviceId],
  })
  if (active !== car.loanId)
    return { ...outcome, gotThrough: true, detail: `car's active loan is now #${active}` }
  return outcome
}

export const contractAttacks: readonly Attack<Env>[] = [
  registerAs(
    'register-device-without-its-key',
    (_env, base) => signDeviceRegistration({ ...base, devicePrivateKey: generatePrivateKey() }),
    'BadDeviceSignature',
  ),
  registerAs(
    'register-device-with-its-signature-for-another-owner',
    (_env, base) => signDeviceRegistration({ ...base, owner: demoAccounts.lender.address }),
    'BadDeviceSignature',
  ),
  registerAs(
    'register-device-signed-for-another-chain',
    (_env, base) => signDeviceRegistration({ ...base, chainId: base.chainId + 1 }),
    'BadDeviceSignature',
  ),
  registerAs(
    'register-device-signed-for-another-registry',
    (env, base) => signDeviceRegistration({ ...base, registry: env.deployment.contracts.CarLoan }),
    'BadDeviceSignature',
  ),
  registerAs(
    'register-device-with-an-expired-signature',
    (_env, base) => signDeviceRegistration({ ...base, now: base.now - 7_200n }),
    'RegistrationExpired',
  ),
  registerAs(
    'register-device-with-a-malleated-signature',
    async (_env, base) => {
      const genuine = await signDeviceRegistration(base)
      // (r, n - s, v ^ 1): the same signature's high-s twin, which ecrecover alone would accept (EIP-2).
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
      const s = BigInt(`0x${genuine.signature.slice(66, 130)}`)
      const v = Number.parseInt(genuine.signature.slice(130, 132), 16) === 27 ? '1c' : '1b'
      const twin = `0x${genuine.signature.slice(2, 66)}${(n - s).toString(16).padStart(64, '0')}${v}` as Hex
      return { deadline: genuine.deadline, signature: twin }
    },
    'BadDeviceSignature',
  ),
  {
    kind: 're-register-a-registered-car',
    async run(env) {
      const outcome = await expectRevert(
        () =>
          send(env, env.outsiderKey, {
            ...registry(env),
            functionName: 'register',
            args: [env.paidCar.deviceId, env.outsider, 0n, '0x'],
          }),
        'AlreadyRegistered',
      )
      const owner = await read(env, {
        ...registry(env),
        functionName: 'owners',
        args: [env.paidCar.deviceId],
      })
      return owner === demoAccounts.lender.address
        ? outcome
        : { ...outcome, gotThrough: true, detail: `owner now ${owner}` }
    },
  },
  outsiderCall(
    'add-self-as-operator-of-a-car',
    (env) => ({ ...registry(env), functionName: 'addOperator', args: [env.paidCar.deviceId, env.outsider] }),
    'NotDeviceOwner',
  ),
  outsiderCall(
    'remove-pbj-operator-from-a-car',
    (env) => ({
      ...registry(env),
      functionName: 'removeOperator',
      args: [env.paidCar.deviceId, demoAccounts.operator.address],
    }),
    'NotDeviceOwner',
  ),
  {
    kind: 'open-loan-on-someone-elses-paid-up-car',
    async run(env) {
      // Even holding the borrower's consent to its terms (the worst case), the outsider does not control the car.
      const terms = await termsFor(env, env.paidCar.deviceId, env.outsider)
      const consent = await consentOf(env, terms)
      const outcome = await expectRevert(
        () => openLoan(env, env.outsiderKey, terms, consent),
        'NotCarController',
      )
      const delinquent = await read(env, {
        ...carLoan(env),
        functionName: 'isCarDelinquent',
        args: [env.paidCar.deviceId],
      })
      const checked = await carUnchanged(env, env.paidCar, outcome)
      return delinquent
        ? { ...checked, gotThrough: true, wrongLock: true, detail: 'the paid car now reads delinquent' }
        : checked
    },
  },
  {
    kind: 'delinquent-borrower-opens-a-second-loan-on-own-car',
    async run(env) {
      const terms = await termsFor(env, env.lateCar.deviceId, demoAccounts.owner.address)
      const outcome = await expectRevert(
        async () => openLoan(env, demoAccounts.owner.privateKey, terms, await consentOf(env, terms)),
        'NotCarController',
      )
      const delinquent = await read(env, {
        ...carLoan(env),
        functionName: 'isCarDelinquent',
        args: [env.lateCar.deviceId],
      })
      const checked = await carUnchanged(env, env.lateCar, outcome)
      return delinquent
        ? checked
        : { ...checked, gotThrough: true, detail: 'the late car no longer reads delinquent' }
    },
  },
  {
    kind: 'registry-owner-replaces-an-active-loan',
    async run(env) {
      const terms = await termsFor(env, env.lateCar.deviceId, demoAccounts.lender.address)
      const outcome = await expectRevert(
        async () => openLoan(env, demoAccounts.lender.privateKey, terms, await consentOf(env, terms)),
        'CarHasActiveLoan',
      )
      return carUnchanged(env, env.lateCar, outcome)
    },
  },
  {
    kind: 'open-loan-with-consent-signed-by-someone-else',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, demoAccounts.lender.address)
      return expectRevert(
        async () =>
          openLoan(
            env,
            demoAccounts.lender.privateKey,
            terms,
            await consentOf(env, terms, { key: env.outsiderKey }),
          ),
        'BadConsent',
      )
    },
  },
  {
    kind: 'open-loan-on-terms-the-borrower-did-not-sign',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, demoAccounts.lender.address)
      const consent = await consentOf(env, terms)
      return expectRevert(
        () =>
          openLoan(
            env,
            demoAccounts.lender.privateKey,
            { ...terms, installment: terms.installment * 2n },
            consent,
          ),
        'BadConsent',
      )
    },
  },
  {
    kind: 'open-loan-with-a-weaker-immobilizer-policy-than-disclosed',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, demoAccounts.lender.address)
      const consent = await consentOf(env, terms)
      return expectRevert(
        () =>
          openLoan(env, demoAccounts.lender.privateKey, terms, consent, { ...policy, emergencyStarts: 1 }),
        'BadConsent',
      )
    },
  },
  {
    kind: 'open-loan-with-an-expired-consent',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, demoAccounts.lender.address)
      const consent = await consentOf(env, terms, { at: (await now(env)) - 7_200n })
      return expectRevert(
        () => openLoan(env, demoAccounts.lender.privateKey, terms, consent),
        'ConsentExpired',
      )
    },
  },
  {
    kind: 'open-loan-naming-another-lender-than-the-caller',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, env.outsider)
      return expectRevert(
        async () => openLoan(env, demoAccounts.lender.privateKey, terms, await consentOf(env, terms)),
        'LenderMismatch',
      )
    },
  },
  {
    kind: 'replay-a-used-consent-once-the-car-is-free',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, demoAccounts.lender.address, { installments: 1 })
      const consent = await consentOf(env, terms)
      const opened = await send(env, demoAccounts.lender.privateKey, {
        ...carLoan(env),
        functionName: 'openLoan',
        args: [terms, policy, consent.deadline, consent.signature],
      })
      if (opened.status !== 'success')
        return { gotThrough: false, unexpected: true, detail: 'genuine loan did not open' }
      const loanId = await read<bigint>(env, {
        ...carLoan(env),
        functionName: 'activeLoanOf',
        args: [device],
      })
      const owner = demoAccounts.owner.privateKey
      await send(env, owner, {
        address: env.deployment.contracts.TestUSD,
        abi: testUsdAbi,
        functionName: 'approve',
        args: [env.deployment.contracts.CarLoan, terms.installment],
      })
      await send(env, owner, { ...carLoan(env), functionName: 'payInstallment', args: [loanId] })
      return expectRevert(() => openLoan(env, demoAccounts.lender.privateKey, terms, consent), 'BadConsent')
    },
  },
  {
    kind: 'open-loan-with-a-consent-the-borrower-revoked',
    async run(env) {
      const device = await lenderDevice(env)
      const terms = await termsFor(env, device, demoAccounts.lender.address)
      const consent = await consentOf(env, terms)
      await send(env, demoAccounts.owner.privateKey, { ...carLoan(env), functionName: 'revokeConsents' })
      return expectRevert(() => openLoan(env, demoAccounts.lender.privateKey, terms, consent), 'BadConsent')
    },
  },
  {
    kind: 'claim-an-owners-project-id-before-they-open-it',
    async run(env) {
      const salt = `fleet-${Math.random()}`
      const victim = projectIdOf(demoAccounts.owner.address, salt)
      await send(env, env.outsiderKey, { ...balance(env), functionName: 'openProject', args: [saltOf(salt)] })
      const owner = await read(env, { ...balance(env), functionName: 'ownerOf', args: [victim] })
      return owner === zeroAddress
        ? { gotThrough: false, detail: "the outsider's openProject opened its own id, not the owner's" }
        : { gotThrough: true, detail: `the owner's project id is owned by ${owner}` }
    },
  },
  {
    kind: 'claim-a-project-by-funding-it-first',
    async run(env) {
      const victim = projectIdOf(demoAccounts.owner.address, `fleet-${Math.random()}`)
      return expectRevert(
        () => send(env, env.outsiderKey, { ...balance(env), functionName: 'deposit', args: [victim, 0n] }),
        'UnknownProject',
      )
    },
  },
  {
    kind: 'withdraw-from-another-owners-project',
    async run(env) {
      const salt = `funded-${Math.random()}`
      const owner = demoAccounts.owner.privateKey
      await send(env, owner, { ...balance(env), functionName: 'openProject', args: [saltOf(salt)] })
      const id = projectIdOf(demoAccounts.owner.address, salt)
      await send(env, owner, {
        address: env.deployment.contracts.TestUSD,
        abi: testUsdAbi,
        functionName: 'approve',
        args: [env.deployment.contracts.ExecutionBalance, 1_000n],
      })
      await send(env, owner, { ...balance(env), functionName: 'deposit', args: [id, 1_000n] })
      const outcome = await expectRevert(
        () =>
          send(env, env.outsiderKey, {
            ...balance(env),
            functionName: 'withdraw',
            args: [id, 1_000n, env.outsider],
          }),
        'NotOwner',
      )
      const left = await read<bigint>(env, { ...balance(env), functionName: 'balanceOf', args: [id] })
      return left === 1_000n ? outcome : { ...outcome, gotThrough: true, detail: `balance now ${left}` }
    },
  },
  outsiderCall(
    'raise-execution-prices',
    (env) => ({ ...balance(env), functionName: 'setPrices', args: [10n ** 12n, 1n, 1n, 1n] }),
    'NotOperator',
  ),
  outsiderCall(
    'settle-a-bill-on-someone-elses-project',
    (env) => ({
      ...balance(env),
      functionName: 'settle',
      args: [projectIdOf(demoAccounts.owner.address, 'x'), 1n, `0x${'00'.repeat(32)}`, 1n, 1n],
    }),
    'NotOperator',
  ),
  outsiderCall(
    'rebind-a-car-wallet-to-another-loan',
    (env) => ({
      address: env.paidCar.walletAddress,
      abi: carWalletAbi,
      functionName: 'bindLoan',
      args: [env.deployment.contracts.CarLoan, env.lateCar.loanId],
    }),
    'NotOwner',
  ),
  outsiderCall(
    'empty-a-car-wallet',
    (env) => ({
      address: env.paidCar.walletAddress,
      abi: carWalletAbi,
      functionName: 'withdraw',
      args: [env.outsider, 1n],
    }),
    'NotOwner',
  ),
]

/**
 * Runs the contract attacks on a fresh Anvil: deploys the demo contracts, sets up a paid-up car and a
 * delinquent one, funds an outsider, and tries each attack in turn.
 *
 * @example
 * const results = await runContractAttacks((line) => console.error(line))
 */
export async function runContractAttacks(log: (line: string) => void): Promise<AttackResult[]> {
  const anvil = await startAnvil()
  try {
    const deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
    const clients = demoClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
    const test = createTestClient({ chain: clients.chain, mode: 'anvil', transport: http(anvil.rpcUrl) })
    const outsiderKey = generatePrivateKey()
    const outsider = privateKeyToAccount(outsiderKey).address
    await test.setBalance({ address: outsider, value: parseEther('1') })
    const lateCar = await createDemoCar(deployment)
    const paidCar = await createDemoCar(deployment)
    // The paid car's owner reloads ahead (the first installment is payable a period early); the late car's
    // loan passes due + grace with nothing paid.
    const env: Env = { anvil, deployment, clients, outsiderKey, outsider, paidCar, lateCar }
    await send(env, demoAccounts.owner.privateKey, {
      address: paidCar.walletAddress,
      abi: carWalletAbi,
      functionName: 'reload',
      args: [paidCar.installment],
    })
    await test.setNextBlockTimestamp({ timestamp: lateCar.firstDueAt + BigInt(lateCar.grace) })
    await test.mine({ blocks: 1 })
    return await runAttacks('contracts', env, contractAttacks, log)
  } finally {
    await anvil.stop()
  }
}
