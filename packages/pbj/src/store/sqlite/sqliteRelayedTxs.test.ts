import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import type { RelayedTx } from '../../core/relayedTx.js'
import { createSqliteStore } from './createSqliteStore.js'

const sender: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex

const tx = (key: string, nonce: number, fields: Partial<RelayedTx> = {}): RelayedTx => ({
  key,
  kind: 'intent',
  chainId: 31337,
  sender,
  nonce,
  to: sender,
  data: '0x',
  value: 2n ** 200n,
  gas: 21_000n,
  maxFeePerGas: 3n * 10n ** 9n,
  maxPriorityFeePerGas: 10n ** 9n,
  hash: hash(nonce + 1),
  raw: '0x02f8',
  status: 'signed',
  confirmation: { confirmations: 2 },
  attempts: 1,
  createdAt: 1_000 + nonce,
  sentAt: null,
  sentBlock: null,
  minedAt: null,
  receipt: null,
  final: false,
  error: null,
  ...fields,
})

describe('sqliteRelayedTxs', () => {
  it('records an intent once per key, with values beyond 64 bits', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const first = await store.relayedTxs.insert(tx('job:w0', 0))
    const again = await store.relayedTxs.insert(tx('job:w0', 7, { hash: hash(99) }))
    expect(again).toEqual(first)
    expect(await store.relayedTxs.get('job:w0')).toEqual(first)
    expect((await store.relayedTxs.get('job:w0'))?.value).toBe(2n ** 200n)
    expect(await store.relayedTxs.attempts('job:w0')).toHaveLength(1)
    await store.close()
  })

  it('keeps every attempt and makes the newest current; updates fields and the receipt', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await store.relayedTxs.insert(tx('k', 3))
    const replaced = await store.relayedTxs.addAttempt(
      'k',
      {
        hash: hash(50),
        nonce: 3,
        raw: '0x02aa',
        maxFeePerGas: 9n,
        maxPriorityFeePerGas: 2n,
        createdAt: 2_000,
      },
      { status: 'pending', sentBlock: 12n },
    )
    expect(replaced).toMatchObject({
      hash: hash(50),
      raw: '0x02aa',
      attempts: 2,
      status: 'pending',
      sentBlock: 12n,
    })
    expect((await store.relayedTxs.attempts('k')).map((a) => a.hash)).toEqual([hash(4), hash(50)])
    const receipt = {
      transactionHash: hash(4),
      blockNumber: 13n,
      blockHash: hash(1300),
      status: 'success' as const,
      gasUsed: 21_000n,
      effectiveGasPrice: 2n * 10n ** 9n,
    }
    await store.relayedTxs.update('k', { status: 'mined', hash: hash(4), receipt, minedAt: 5 })
    expect(await store.relayedTxs.get('k')).toMatchObject({
      status: 'mined',
      hash: hash(4),
      receipt,
      minedAt: 5,
    })
    await store.close()
  })

  it('lists the open records of a sender by nonce, without final or failed ones', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    await store.relayedTxs.insert(tx('b', 2))
    await store.relayedTxs.insert(tx('a', 1))
    await store.relayedTxs.insert(tx('done', 0, { status: 'confirmed', final: true }))
    await store.relayedTxs.insert(tx('gone', 3, { status: 'failed' }))
    await store.relayedTxs.insert(tx('other', 4, { sender: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }))
    expect((await store.relayedTxs.open(31337, sender)).map((t) => t.key)).toEqual(['a', 'b'])
    expect(
      (await store.relayedTxs.list({ sender, status: ['failed', 'confirmed'] })).map((t) => t.key),
    ).toEqual(['gone', 'done'])
    await store.close()
  })
})
