import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { executionBalanceAbi, testUsdAbi } from '@pbj/contracts'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  webSocket,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { loadConfig } from '../../config/loadConfig.js'
import { resolvePayment } from '../../config/resolvePayment.js'
import {
  MissingArgumentError,
  MissingConfigError,
  NoDatabaseError,
  ProjectNotOpenedError,
  TransactionRevertedError,
} from '../../internal/errors.js'
import { toJsonLine } from '../../internal/toJsonLine.js'
import { checkUsage } from '../../payment/checkUsage.js'
import { formatTusd, parseTusd } from '../../payment/formatTusd.js'
import { projectIdOf, saltOf } from '../../payment/projectIdOf.js'
import { createSqliteStore } from '../../store/sqlite/createSqliteStore.js'

type PaymentArgs = {
  args: string[]
  dir?: string | undefined
  json?: boolean | undefined
  key?: string | undefined
}

/**
 * `pbj balance|deposit <amount>|withdraw <amount>|usage [--dir] [--json] [--key]`: the project's prepaid
 * execution balance on ExecutionBalance (config `payment`, `rpcUrl`, `contracts`). Amounts are tUSD decimals;
 * deposit and withdraw sign with the owner's key (`--key` or PBJ_OWNER_KEY). `usage` prints each metered run
 * and the settled batches, and fails (exit 1) unless the chain's `Settled` amounts equal the metered rows
 * they cover, to the unit, with matching usage roots.
 *
 * @example
 * await paymentCommand('deposit', { args: ['25'], dir: '.' }) // PBJ_OWNER_KEY signs approve + deposit
 */
export async function paymentCommand(command: 'balance' | 'deposit' | 'withdraw' | 'usage', o: PaymentArgs) {
  const dir = o.dir ?? process.cwd()
  const { config } = await loadConfig(dir)
  const contracts: Record<string, Address> = {}
  for (const [name, c] of Object.entries(config.contracts ?? {})) contracts[name] = c.address as Address
  const payment = resolvePayment(config, contracts)
  if (!payment) {
    throw new MissingConfigError({
      field: 'payment',
      message: 'No payment in the config',
      hint: "Add payment: { owner: '0x…', salt: 'my-project' } and contracts.ExecutionBalance to pbj.config.ts.",
    })
  }
  const rpcUrl = [config.rpcUrl ?? []].flat()[0]
  if (!rpcUrl)
    throw new MissingConfigError({
      field: 'rpcUrl',
      message: 'No rpcUrl in the config',
      hint: 'Set rpcUrl to the chain ExecutionBalance is on, e.g. "http://127.0.0.1:8545".',
    })
  const transport = rpcUrl.startsWith('ws') ? webSocket(rpcUrl) : http(rpcUrl)
  const pub = createPublicClient({ transport })
  const contract = { address: payment.contract, abi: executionBalanceAbi } as const
  const { projectId } = payment
  const out = (json: unknown, text: string) => process.stdout.write(o.json ? toJsonLine(json) : `${text}\n`)

  if (command === 'balance') {
    const [balance, owner, prices] = await Promise.all([
      pub.readContract({ ...contract, functionName: 'balanceOf', args: [projectId] }),
      pub.readContract({ ...contract, functionName: 'ownerOf', args: [projectId] }),
      pub.readContract({ ...contract, functionName: 'prices' }),
    ])
    out(
      { projectId, owner, balance, prices },
      `project ${projectId}\nowner   ${owner}\nbalance ${formatTusd(balance, 6)} tUSD\nprices  ${prices.perRunMicros} per run, ${prices.perMsMicros} per ms, ${prices.perDeviceMessageMicros} per device message (token units), gas +${Number(prices.gasMarkupBps) / 100}%`,
    )
    return 0
  }

  if (command === 'deposit' || command === 'withdraw') {
    const text = o.args[0]
    if (!text) throw new MissingArgumentError({ command, needs: `an amount in tUSD, e.g. pbj ${command} 10` })
    const amount = parseTusd(text)
    const key = o.key ?? process.env.PBJ_OWNER_KEY
    if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
      throw new MissingArgumentError({
        command,
        needs: "the owner's key",
        hint: 'Pass --key 0x… or set PBJ_OWNER_KEY.',
      })
    }
    const account = privateKeyToAccount(key as Hex)
    const chain = {
      id: await pub.getChainId(),
      name: 'pbj',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    }
    const wallet = createWalletClient({ account, chain, transport })
    const send = async (hash: Hex) => {
      const receipt = await pub.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new TransactionRevertedError({ hash })
      return hash
    }
    let hash: Hex
    if (command === 'deposit') {
      const owner = await pub.readContract({ ...contract, functionName: 'ownerOf', args: [projectId] })
      if (owner === zeroAddress) {
        // A project id is bound to its owner: only that owner can open it, with the salt that names it.
        const salt = config.payment?.salt
        if (salt === undefined || projectIdOf(account.address, salt) !== projectId) {
          throw new ProjectNotOpenedError({ projectId })
        }
        await send(
          await wallet.writeContract({ ...contract, functionName: 'openProject', args: [saltOf(salt)] }),
        )
      }
      const token = await pub.readContract({ ...contract, functionName: 'token' })
      await send(
        await wallet.writeContract({
          address: token,
          abi: testUsdAbi,
          functionName: 'approve',
          args: [payment.contract, amount],
        }),
      )
      hash = await send(
        await wallet.writeContract({ ...contract, functionName: 'deposit', args: [projectId, amount] }),
      )
    } else {
      // Simulated first: a non-owner or an amount above the balance fails here with the contract's reason.
      const { request } = await pub.simulateContract({
        ...contract,
        account,
        functionName: 'withdraw',
        args: [projectId, amount, account.address],
      })
      hash = await send(await wallet.writeContract(request))
    }
    const balance = await pub.readContract({ ...contract, functionName: 'balanceOf', args: [projectId] })
    out(
      { command, amount, hash, balance },
      `${command === 'deposit' ? 'deposited' : 'withdrew'} ${formatTusd(amount, 6)} tUSD (${hash}); balance ${formatTusd(balance, 6)} tUSD`,
    )
    return 0
  }

  const database =
    config.database ?? join(dir, '.pbj', existsSync(join(dir, '.pbj', 'pbj.db')) ? 'pbj.db' : 'dev.db')
  if (!existsSync(database)) throw new NoDatabaseError({ database })
  const store = createSqliteStore({ path: database })
  try {
    const rows = await store.usage.list()
    const events = await pub.getContractEvents({
      ...contract,
      eventName: 'Settled',
      args: { projectId },
      fromBlock: 0n,
    })
    const settled = events.map((e) => ({
      batchId: e.args.batchId ?? 0n,
      amount: e.args.amount ?? 0n,
      usageRoot: e.args.usageRoot ?? '0x',
      fromRun: e.args.fromRun ?? 0n,
      toRun: e.args.toRun ?? 0n,
    }))
    const check = checkUsage(rows, settled)
    if (o.json) {
      for (const r of rows) process.stdout.write(toJsonLine({ type: 'usage', ...r }))
      process.stdout.write(toJsonLine({ type: 'check', ...check }))
    } else {
      for (const r of rows)
        process.stdout.write(
          `#${String(r.seq).padStart(5)} ${r.functionName.padEnd(24)} ${r.durationMs.toFixed(1).padStart(8)} ms  ${String(r.deviceMessages).padStart(2)} msg  ${formatTusd(r.amount, 6).padStart(12)} tUSD  ${r.settlement ? 'settled' : 'unsettled'}\n`,
        )
      for (const b of check.batches)
        process.stdout.write(
          `batch ${b.batchId}: runs ${b.fromRun}–${b.toRun}, ${formatTusd(b.amount, 6)} tUSD, root ${b.rootMatches ? 'matches' : 'DIFFERS'}\n`,
        )
      process.stdout.write(
        `metered ${formatTusd(check.metered, 6)} tUSD; settled on chain ${formatTusd(check.settledOnChain, 6)} tUSD = settled rows ${formatTusd(check.settledRows, 6)} tUSD: ${check.ok ? 'ok' : 'MISMATCH'}\n`,
      )
    }
    return check.ok ? 0 : 1
  } finally {
    await store.close()
  }
}
