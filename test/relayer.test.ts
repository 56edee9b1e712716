import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testUsdAbi, testUsdBytecode } from '@pbj/contracts/artifacts'
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  getAddress,
  type Hex,
  http,
} from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRelayer, type Relayer, type RelayerOptions } from '#pbj/actions/relayer/createRelayer.js'
import type { RelayerEvents, SendResult } from '#pbj/actions/relayer/types.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import type { RelayedTx } from '#pbj/core/relayedTx.js'
import type { Store } from '#pbj/core/store.js'
import { demoAccounts } from '#pbj/demo/accounts.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { createSqliteStore } from '#pbj/store/sqlite/createSqliteStore.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { createRpcProxy, type RpcProxy } from './helpers/createRpcProxy.js'
import { startScenario } from './helpers/startScenario.js'

const operator = demoAccounts.operator
const sink = getAddress('0x000000000000000000000000000000000000dEaD')

let anvil: AnvilNode
let dir: string
let store: Store
let proxy: RpcProxy | undefined
const relayers: Relayer[] = []

const chainOf = (a: AnvilNode) =>
  defineChain({
    id: a.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [a.rpcUrl] } },
  })
const clients = () => {
  const chain = chainOf(anvil)
  const transport = http(anvil.rpcUrl)
  return {
    pub: createPublicClient({ chain, transport }),
    test: createTestClient({ chain, mode: 'anvil', transport }),
  }
}
const rpc = (method: string, params: unknown[] = []) => clients().test.request({ method, params } as never)
const chainNonce = (tag: 'latest' | 'pending' = 'latest') =>
  clients().pub.getTransactionCount({ address: operator.address, blockTag: tag })

/** A relayer for the demo operator on this test's Anvil and store, closed after the test. */
function relayer(options: Partial<RelayerOptions> = {}) {
  const r = createRelayer({
    rpc: [anvil.wsUrl],
    store,
    account: operator.privateKey,
    chainId: anvil.chainId,
    pollingIntervalMs: 50,
    rebroadcastMs: 150,
    ...options,
  })
  relayers.push(r)
  return r
}

/** Collects a relayer's events by name. */
function record(r: Relayer) {
  const seen: { [k in keyof RelayerEvents]?: RelayerEvents[k][] } = {}
  for (const name of [
    'tx:sent',
    'tx:replaced',
    'tx:renonced',
    'tx:mined',
    'tx:confirmed',
    'tx:reorged',
    'tx:failed',
    'tx:filler',
    'error',
  ] as const) {
    r.events.on(name, (e) => {
      const list = (seen[name] ?? []) as unknown[]
      list.push(e)
      seen[name] = list as never
    })
  }
  return seen
}

const settled = (keys: string[], status: RelayedTx['status'][] = ['confirmed'], timeout = 20_000) =>
  vi.waitFor(
    async () => {
      const txs = await Promise.all(keys.map((k) => store.relayedTxs.get(k)))
      for (const t of txs) expect(status).toContain(t?.status)
      return txs as RelayedTx[]
    },
    { timeout, interval: 25 },
  )

/** Every transaction the operator has in blocks `from`..head, by nonce. */
async function minedFromOperator(from = 0n) {
  const { pub } = clients()
  const head = await pub.getBlockNumber({ cacheTime: 0 })
  const out = new Map<number, Hex>()
  for (let n = from; n <= head; n++) {
    const block = await pub.getBlock({ blockNumber: n, includeTransactions: true })
    for (const tx of block.transactions)
      if (getAddress(tx.from) === operator.address) {
        expect(out.has(tx.nonce), `nonce ${tx.nonce} mined twice`).toBe(false)
        out.set(tx.nonce, tx.hash)
      }
  }
  return out
}

const contiguous = (nonces: number[]) => {
  const sorted = [...nonces].sort((a, b) => a - b)
  return sorted.every((n, i) => i === 0 || n === (sorted[i - 1] as number) + 1)
}

async function deployTestUsd(): Promise<Address> {
  const chain = chainOf(anvil)
  const deployer = createWalletClient({
    chain,
    transport: http(anvil.rpcUrl),
    account: privateKeyToAccount(demoAccounts.lender.privateKey),
  })
  const hash = await deployer.deployContract({ abi: testUsdAbi, bytecode: testUsdBytecode })
  const receipt = await clients().pub.waitForTransactionReceipt({ hash })
  return getAddress(receipt.contractAddress as Address)
}

describe('relayer', () => {
  beforeEach(async () => {
    anvil = await startAnvil()
    dir = mkdtempSync(join(tmpdir(), 'pbj-relayer-'))
    store = createSqliteStore({ path: join(dir, 'pbj.db') })
  })
  afterEach(async () => {
    for (const r of relayers.splice(0)) await r.close()
    await proxy?.close()
    proxy = undefined
    await store.close()
    await anvil.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('sends 200 concurrent mints from one operator: all mined once, nonces contiguous, no RPC per nonce', async () => {
    const usd = await deployTestUsd()
    proxy = await createRpcProxy(anvil.rpcUrl)
    const r = relayer({ rpc: [proxy.wsUrl] })
    const recipients = Array.from(
      { length: 200 },
      (_, i) =>
        mnemonicToAccount('test test test test test test test test test test test junk', {
          addressIndex: 100 + i,
        }).address,
    )
    const first = await chainNonce()
    const before = proxy.stats().calls
    const started = performance.now()
    const results = await Promise.all(
      recipients.map((to, i) =>
        r.send({
          idempotencyKey: `mint:${i}`,
          to: usd,
          data: encodeFunctionData({ abi: testUsdAbi, functionName: 'mint', args: [to, BigInt(i + 1)] }),
        }),
      ),
    )
    const sentMs = performance.now() - started
    const during = proxy.stats().calls
    // The tracker (which asks the node's nonces on each of its passes, as often as blocks come) starts only
    // now, so the count above is the sends' own: on a busy machine its passes would otherwise be counted.
    r.start()
    const txs = await settled(
      results.map((x) => x.key),
      ['confirmed'],
      30_000,
    )
    const minedMs = performance.now() - started

    const nonces = results.map((x) => x.nonce)
    expect(new Set(nonces).size).toBe(200)
    expect(Math.min(...nonces)).toBe(first)
    expect(contiguous(nonces)).toBe(true)
    expect(await chainNonce()).toBe(first + 200)
    expect(txs.every((t) => t.receipt?.status === 'success' && t.attempts === 1)).toBe(true)
    // Each intent executed exactly once: the supply is the sum of the 200 distinct amounts.
    const supply = await clients().pub.readContract({
      address: usd,
      abi: testUsdAbi,
      functionName: 'totalSupply',
    })
    expect(supply).toBe(20_100n)
    const mined = await minedFromOperator()
    for (const t of txs) expect(mined.get(t.nonce)).toBe(t.hash)
    // Nonces come from the counter, not from the node: the pending count is asked once for 200 sends.
    const asked = (m: string) => (during[m] ?? 0) - (before[m] ?? 0)
    expect(asked('eth_sendRawTransaction')).toBeGreaterThanOrEqual(200)
    expect(asked('eth_getTransactionCount')).toBeLessThan(20)

    // The same keys again: the same transactions, nothing new sent.
    const again = await Promise.all(
      results.map((x, i) => r.send({ idempotencyKey: x.key, to: usd, data: `0x${i}` })),
    )
    expect(again.map((x) => x.txHash)).toEqual(txs.map((t) => t.hash))
    expect(await chainNonce()).toBe(first + 200)

    const line = `200 concurrent sends: all recorded and broadcast in ${sentMs.toFixed(0)} ms (${(200_000 / sentMs).toFixed(0)} tx/s), all mined and confirmed after ${minedMs.toFixed(0)} ms (${(200_000 / minedMs).toFixed(0)} tx/s); RPC during the sends: ${asked('eth_sendRawTransaction')} eth_sendRawTransaction, ${asked('eth_getTransactionCount')} eth_getTransactionCount, ${asked('eth_estimateGas')} eth_estimateGas`
    console.log(line)
    expect(minedMs).toBeLessThan(30_000)
  })

  it('re-broadcasts a transaction dropped from the pool, and it is mined with the same hash', async () => {
    await rpc('evm_setAutomine', [false])
    const r = relayer()
    const seen = record(r)
    const sent: SendResult[] = []
    for (const i of [0, 1, 2])
      sent.push(await r.send({ idempotencyKey: `drop:${i}`, to: sink, value: BigInt(i + 1) }))
    expect(sent.map((s) => [s.nonce, s.status])).toEqual([
      [0, 'pending'],
      [1, 'pending'],
      [2, 'pending'],
    ])
    const dropped = sent[1] as (typeof sent)[number]
    await rpc('anvil_dropTransaction', [dropped.txHash])
    // The node has forgotten nonce 1 (and so cannot mine 2 either), until the tracker notices.
    expect(await chainNonce('pending')).toBe(1)
    r.start()
    await vi.waitFor(
      () => expect(seen['tx:sent']?.some((e) => e.key === dropped.key && e.rebroadcast)).toBe(true),
      { timeout: 5_000, interval: 20 },
    )
    expect(await chainNonce('pending')).toBe(dropped.nonce + 2)
    await rpc('evm_mine')
    const txs = await settled(sent.map((s) => s.key))
    expect(txs[1]?.hash).toBe(dropped.txHash)
    expect(txs.map((t) => t.receipt?.blockNumber)).toEqual(Array(3).fill(txs[0]?.receipt?.blockNumber))
    expect(await chainNonce()).toBe(3)
    expect([...(await minedFromOperator()).keys()]).toEqual([0, 1, 2])
  })

  it('after a crash between signing and broadcasting, sends the recorded transaction, never a new one', async () => {
    const crashing = relayer({
      hooks: {
        beforeBroadcast: () => {
          throw new Error('crash before broadcast')
        },
      },
    })
    await expect(crashing.send({ idempotencyKey: 'crash:retried', to: sink, value: 1n })).rejects.toThrow(
      'crash before broadcast',
    )
    await expect(crashing.send({ idempotencyKey: 'crash:resumed', to: sink, value: 2n })).rejects.toThrow(
      'crash before broadcast',
    )
    const recorded = (await store.relayedTxs.get('crash:retried')) as RelayedTx
    const resumed = (await store.relayedTxs.get('crash:resumed')) as RelayedTx
    expect([recorded.status, recorded.nonce, resumed.status, resumed.nonce]).toEqual([
      'signed',
      0,
      'signed',
      1,
    ])
    expect(await chainNonce('pending')).toBe(0)
    await crashing.close()
    // A new process: a fresh store and relayer on the same database file.
    await store.close()
    store = createSqliteStore({ path: join(dir, 'pbj.db') })

    const restarted = relayer()
    // The retried run: same key, same transaction (its arguments are not even looked at).
    const retried = await restarted.send({ idempotencyKey: 'crash:retried', to: sink, value: 999n })
    expect(retried).toMatchObject({ txHash: recorded.hash, nonce: 0 })
    // The intent nobody retries is broadcast by the tracker when it starts.
    restarted.start()
    const [a, b] = await settled(['crash:retried', 'crash:resumed'])
    expect(a?.hash).toBe(recorded.hash)
    expect(b?.hash).toBe(resumed.hash)
    // A new intent gets the next nonce: none was reused.
    const next = await restarted.send({ idempotencyKey: 'crash:new', to: sink })
    expect(next.nonce).toBe(2)
    await settled(['crash:new'])
    const mined = await minedFromOperator()
    expect([...mined.entries()]).toEqual([
      [0, recorded.hash],
      [1, resumed.hash],
      [2, next.txHash],
    ])
    expect(await clients().pub.getBalance({ address: sink })).toBe(3n)
  })

  it('recovers from "nonce too low" after an external send from the same key, without a jam', async () => {
    const r = relayer()
    const seen = record(r)
    // The tracker waits: it would see the external transaction and move the counter past it first.
    await r.send({ idempotencyKey: 'ext:0', to: sink })
    // Someone else sends with the operator key: the relayer's counter is now behind the chain.
    const wallet = createWalletClient({
      chain: chainOf(anvil),
      transport: http(anvil.rpcUrl),
      account: privateKeyToAccount(operator.privateKey),
    })
    const external = await wallet.sendTransaction({ to: sink, value: 5n })
    const sent = await r.send({ idempotencyKey: 'ext:1', to: sink, value: 1n })
    expect(sent.nonce).toBe(2)
    expect(seen['tx:renonced']).toEqual([
      expect.objectContaining({ key: 'ext:1', previousNonce: 1, nonce: 2 }),
    ])
    r.start()
    const more = await Promise.all([2, 3].map((i) => r.send({ idempotencyKey: `ext:${i}`, to: sink })))
    expect(more.map((m) => m.nonce).sort()).toEqual([3, 4])
    const txs = await settled(['ext:0', 'ext:1', 'ext:2', 'ext:3'])
    const mined = await minedFromOperator()
    expect([...mined.keys()]).toEqual([0, 1, 2, 3, 4])
    expect(mined.get(1)).toBe(external)
    for (const t of txs) expect(mined.get(t.nonce)).toBe(t.hash)
    expect(txs[1]?.attempts).toBe(2)
  })

  it('recovers when the account nonce jumps ahead (anvil_setNonce up): re-signs with a fresh nonce', async () => {
    const r = relayer()
    r.start()
    await r.send({ idempotencyKey: 'up:0', to: sink })
    await settled(['up:0'])
    await rpc('anvil_setNonce', [operator.address, '0x9'])
    const sent = await r.send({ idempotencyKey: 'up:1', to: sink, value: 7n })
    expect(sent.nonce).toBe(9)
    const [tx] = await settled(['up:1'])
    expect(tx?.receipt?.status).toBe('success')
    expect(await chainNonce()).toBe(10)
  })

  it('fills a gap when the chain nonce moves back (anvil_setNonce down), so later sends are not stuck', async () => {
    const r = relayer()
    const seen = record(r)
    r.start()
    for (let i = 0; i < 5; i++) await r.send({ idempotencyKey: `down:${i}`, to: sink })
    await settled([0, 1, 2, 3, 4].map((i) => `down:${i}`))
    // The chain forgets nonces 2..4: the counter (5) is now above it, the next send would wait forever.
    await rpc('anvil_setNonce', [operator.address, '0x2'])
    const sent = await r.send({ idempotencyKey: 'down:5', to: sink, value: 11n })
    expect(sent.nonce).toBe(5)
    const [tx] = await settled(['down:5'])
    expect(tx?.receipt?.status).toBe('success')
    expect(seen['tx:filler']?.map((f) => f.nonce)).toEqual([2, 3, 4])
    expect(await chainNonce()).toBe(6)
    // Once in order again, a new send goes straight through.
    const after = await r.send({ idempotencyKey: 'down:6', to: sink })
    expect(after.nonce).toBe(6)
    await settled(['down:6'])
  })

  it('recovers from a node answering "nonce too high" (refusing to queue), re-broadcasting in order', async () => {
    proxy = await createRpcProxy(anvil.rpcUrl)
    proxy.setFaults({ rejectSendRawTransaction: { code: -32000, message: 'nonce too high', times: 4 } })
    const r = relayer({ rpc: [proxy.wsUrl] })
    const seen = record(r)
    r.start()
    const sent = await Promise.all([0, 1, 2].map((i) => r.send({ idempotencyKey: `high:${i}`, to: sink })))
    expect(sent.map((s) => s.status)).toEqual(['signed', 'signed', 'signed'])
    const txs = await settled(sent.map((s) => s.key))
    expect(proxy.stats().sendsRejected).toBe(4)
    // Re-broadcast as signed, never re-signed: one attempt each, nonces 0–2.
    expect(txs.map((t) => t.nonce).sort()).toEqual([0, 1, 2])
    expect(txs.map((t) => t.attempts)).toEqual([1, 1, 1])
    expect(seen['tx:filler']).toBeUndefined()
    expect(await chainNonce()).toBe(3)
  })

  it('does not believe a lagging node\'s "nonce too low" for a nonce the chain has not used', async () => {
    proxy = await createRpcProxy(anvil.rpcUrl)
    proxy.setFaults({ rejectSendRawTransaction: { code: -32000, message: 'nonce too low', times: 1 } })
    const r = relayer({ rpc: [proxy.wsUrl] })
    const seen = record(r)
    r.start()
    const sent = await r.send({ idempotencyKey: 'lag:0', to: sink })
    expect(sent).toMatchObject({ nonce: 0, status: 'signed' })
    const [tx] = await settled(['lag:0'])
    expect(tx).toMatchObject({ nonce: 0, attempts: 1, hash: sent.txHash })
    expect(seen['tx:renonced']).toBeUndefined()
    expect(await chainNonce()).toBe(1)
  })

  it('replaces a transaction stuck under a rising base fee with fees bumped at least 12.5 %', async () => {
    await rpc('evm_setAutomine', [false])
    const r = relayer({ stuckBlocks: 2 })
    const seen = record(r)
    r.start()
    const sent = await r.send({ idempotencyKey: 'stuck:0', to: sink, value: 3n })
    await settled(['stuck:0'], ['pending'])
    const first = (await store.relayedTxs.get('stuck:0')) as RelayedTx
    await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(first.maxFeePerGas * 50n).toString(16)}`])
    // Blocks go by without it (its fee cap is below the base fee) until it has waited `stuckBlocks`.
    let blocks = 0
    while (!seen['tx:replaced'] && blocks < 5) {
      await rpc('evm_mine')
      blocks++
      expect(await chainNonce()).toBe(0)
      await r.tick()
    }
    // 2 blocks after the head it was sent at (3 if the relayer learnt that head a block late).
    expect(blocks).toBeGreaterThanOrEqual(2)
    expect(blocks).toBeLessThanOrEqual(3)
    expect(seen['tx:replaced']).toHaveLength(1)
    await rpc('evm_mine')
    const [tx] = await settled(['stuck:0'])
    expect(tx?.attempts).toBeGreaterThanOrEqual(2)
    expect(tx?.hash).not.toBe(sent.txHash)
    expect(tx?.receipt?.transactionHash).toBe(tx?.hash)
    expect((tx?.maxFeePerGas ?? 0n) * 8n).toBeGreaterThanOrEqual(first.maxFeePerGas * 9n)
    expect((tx?.maxPriorityFeePerGas ?? 0n) * 8n).toBeGreaterThanOrEqual(first.maxPriorityFeePerGas * 9n)
    expect((await store.relayedTxs.attempts('stuck:0')).map((a) => a.hash)).toContain(sent.txHash)
    expect([...(await minedFromOperator()).entries()]).toEqual([[0, tx?.hash]])
    expect(await clients().pub.getBalance({ address: sink })).toBe(3n)
  })

  it('sends a reorged-out transaction again and follows it to its confirmations', async () => {
    const r = relayer()
    const seen = record(r)
    r.start()
    const sent = await r.send({
      idempotencyKey: 'reorg:0',
      to: sink,
      value: 4n,
      confirmation: { confirmations: 3 },
    })
    const [mined] = await settled(['reorg:0'], ['mined'])
    const block = mined?.receipt?.blockNumber as bigint
    await rpc('anvil_reorg', [1, []])
    await vi.waitFor(() => expect(seen['tx:reorged']?.map((e) => e.key)).toEqual(['reorg:0']), {
      timeout: 5_000,
    })
    const again = await settled(['reorg:0'], ['mined'])
    expect(again[0]?.hash).toBe(sent.txHash)
    expect(again[0]?.receipt?.blockHash).not.toBe(mined?.receipt?.blockHash)
    expect(again[0]?.receipt?.blockNumber).toBeGreaterThan(block)
    await rpc('anvil_mine', ['0x3'])
    await settled(['reorg:0'])
    expect(await chainNonce()).toBe(1)
  })
})

describe('ctx.chain.write', () => {
  const fns = makeFunctionsDir()
  afterAll(() => fns.remove())
  const mintAbi = `[{ type: 'function', name: 'mint', stateMutability: 'nonpayable', outputs: [],
    inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }] }] as const`

  it('sends one transaction per write, however often the run is retried', async () => {
    const writer = await loadFunction(
      fns.write(
        'mintOnce',
        `const abi = ${mintAbi}
        export default defineFunction({
          trigger: { type: 'schedule', at: 1 },
          capabilities: { write: [{ contract: 'TestUSD', functionName: 'mint' }] },
          retry: { maxAttempts: 3, backoffMs: 10, on: 'all' },
          async handler(ctx) {
            const sent = await ctx.chain.write({ contract: 'TestUSD', abi, functionName: 'mint', args: ['${sink}', 777n] })
            ctx.log.info('sent ' + sent.hash + ' nonce ' + sent.nonce)
            if (ctx.run.attempt < 3) throw new Error('fails after its write, attempt ' + ctx.run.attempt)
          },
        })`,
      ),
    )
    const reverting = await loadFunction(
      fns.write(
        'mintToZero',
        `const abi = ${mintAbi}
        export default defineFunction({
          trigger: { type: 'schedule', at: 1 },
          capabilities: { write: [{ contract: 'TestUSD', functionName: 'mint' }] },
          async handler(ctx) {
            await ctx.chain.write({ contract: 'TestUSD', abi, functionName: 'mint', args: ['0x0000000000000000000000000000000000000000', 1n] })
          },
        })`,
      ),
    )
    const s = await startScenario({ functions: [writer, reverting] })
    try {
      const relayer = s.engine.relayer as Relayer
      expect(relayer.address).toBe(operator.address)
      const before = await s.pub.getTransactionCount({ address: operator.address })
      await s.mine()
      await vi.waitFor(
        () => expect(s.runs.filter((r) => r.run.functionName === 'mintOnce')).toHaveLength(3),
        {
          timeout: 10_000,
          interval: 20,
        },
      )
      const runs = s.runs.filter((r) => r.run.functionName === 'mintOnce')
      expect(runs.map((r) => r.run.status)).toEqual(['failed', 'failed', 'ok'])
      const hashes = runs.map((r) => r.run.logs[0]?.message)
      expect(new Set(hashes).size).toBe(1)
      const jobId = runs[0]?.jobId as string
      const records = await s.engine.store.relayedTxs.list({ sender: operator.address })
      expect(records.map((r) => r.key)).toEqual([`${jobId}:w0`])
      expect(hashes[0]).toBe(`sent ${records[0]?.hash} nonce ${before}`)
      // The reverting write failed its run before any nonce was taken.
      const failed = s.runs.find((r) => r.run.functionName === 'mintToZero')
      expect(failed?.run.status).toBe('failed')
      expect(failed?.run.error?.message).toContain('would fail')

      await s.mine()
      await vi.waitFor(async () => expect((await relayer.get(`${jobId}:w0`))?.status).toBe('confirmed'), {
        timeout: 10_000,
        interval: 20,
      })
      expect(await s.pub.getTransactionCount({ address: operator.address })).toBe(before + 1)
      const usd = s.stack.deployment.contracts.TestUSD
      expect(
        await s.pub.readContract({ address: usd, abi: testUsdAbi, functionName: 'balanceOf', args: [sink] }),
      ).toBe(777n)
    } finally {
      await s.stop()
    }
  })
})
