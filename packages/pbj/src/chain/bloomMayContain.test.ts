import { createPublicClient, createTestClient, createWalletClient, getAddress, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bloomMayContain } from './bloomMayContain.js'
import { type AnvilNode, startAnvil } from './startAnvil.js'

// Anvil's first default account.
const key = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
// Init code that emits an empty LOG0 from the contract being created, then stops: a log of a known address.
const emitsLog = '0x60006000a000'

describe('bloomMayContain on blocks of a real Anvil', () => {
  let anvil: AnvilNode
  beforeAll(async () => {
    anvil = await startAnvil()
  })
  afterAll(async () => anvil?.stop())

  it('finds a log address in its block bloom, and not in another block nor for another address', async () => {
    const transport = http(anvil.rpcUrl)
    const wallet = createWalletClient({ transport, account: privateKeyToAccount(key) })
    const pub = createPublicClient({ transport })
    const test = createTestClient({ transport, mode: 'anvil' })
    const hash = await wallet.sendTransaction({ data: emitsLog, gas: 100_000n, chain: null })
    const receipt = await pub.waitForTransactionReceipt({ hash })
    const [log] = receipt.logs
    expect(log?.address).toBeDefined()
    const emitter = getAddress(log?.address as string)
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber })
    await test.mine({ blocks: 1 })
    const empty = await pub.getBlock({ blockTag: 'latest' })

    expect(bloomMayContain(block.logsBloom as `0x${string}`, emitter)).toBe(true)
    expect(bloomMayContain(block.logsBloom as `0x${string}`, emitter.toLowerCase() as `0x${string}`)).toBe(
      true,
    )
    expect(bloomMayContain(empty.logsBloom as `0x${string}`, emitter)).toBe(false)
    const others = Array.from(
      { length: 50 },
      (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as const,
    )
    expect(others.filter((a) => bloomMayContain(block.logsBloom as `0x${string}`, a))).toEqual([])
  })
})
