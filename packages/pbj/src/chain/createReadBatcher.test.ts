import { carLoanAbi } from '@pbj/contracts'
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  custom,
  encodeFunctionData,
  type Hex,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DemoStack, startDemoStack } from '../demo/startDemoStack.js'
import { createReadBatcher } from './createReadBatcher.js'

// A real Anvil with Multicall3 installed (startDemoStack does it) and the demo contracts.
let stack: DemoStack
beforeAll(async () => {
  stack = await startDemoStack({ cars: 1 })
}, 60_000)
afterAll(() => stack?.stop())

const clientCounting = (multicall: boolean) => {
  const sent: string[] = []
  const raw = async (method: string, params: readonly unknown[]) => {
    sent.push(method)
    const response = await fetch(stack.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    const body = (await response.json()) as {
      result?: unknown
      error?: { code: number; message: string; data?: unknown }
    }
    if (body.error) throw Object.assign(new Error(body.error.message), body.error)
    return body.result
  }
  const request = createReadBatcher(raw, { multicall })
  const client = createPublicClient({
    transport: custom({ request: ({ method, params }) => request(method, params ?? []) }),
  })
  return { client, sent, request }
}

const errorName = (error: unknown) =>
  error instanceof BaseError
    ? (error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null)
        ?.data?.errorName
    : undefined

const getLoan = (client: ReturnType<typeof clientCounting>['client'], loanId: bigint) =>
  client.readContract({
    address: stack.deployment.contracts.CarLoan,
    abi: carLoanAbi,
    functionName: 'getLoan',
    args: [loanId],
  })

describe('createReadBatcher', () => {
  it('sends the reads of one tick as one multicall, with the answers each read gets alone', async () => {
    const car = stack.cars[0]
    if (!car) throw new Error('no car')
    const batched = clientCounting(true)
    const alone = clientCounting(false)
    const results = await Promise.all(Array.from({ length: 1250 }, () => getLoan(batched.client, car.loanId)))
    expect(batched.sent.filter((m) => m === 'eth_call')).toHaveLength(3) // 500 + 500 + 250
    const single = await getLoan(alone.client, car.loanId)
    expect(alone.sent).toEqual(['eth_call'])
    for (const r of results) expect(r).toEqual(single)
    expect(single.car).toBe(car.deviceId)
  })

  it('rejects a reverting read in a batch as the node rejects it alone: decoded custom error, others unharmed', async () => {
    const car = stack.cars[0]
    if (!car) throw new Error('no car')
    const batched = clientCounting(true)
    const [good, bad] = await Promise.allSettled([
      getLoan(batched.client, car.loanId),
      getLoan(batched.client, 999n),
    ])
    expect(batched.sent.filter((m) => m === 'eth_call')).toHaveLength(1)
    expect(good.status).toBe('fulfilled')
    expect(bad.status).toBe('rejected')
    const alone = await getLoan(clientCounting(false).client, 999n).catch((e: unknown) => e)
    expect(errorName(alone)).toBe('UnknownLoan')
    expect(errorName(bad.status === 'rejected' ? bad.reason : undefined)).toBe('UnknownLoan')
  })

  it('sends the reads asked for so far at once on flush(), before the turn ends, through viem as the engine asks', async () => {
    const car = stack.cars[0]
    if (!car) throw new Error('no car')
    const { client, sent, request } = clientCounting(true)
    const to = stack.deployment.contracts.CarLoan
    const read = (functionName: 'getLoan' | 'policyOf') =>
      client.request({
        method: 'eth_call',
        params: [
          { to, data: encodeFunctionData({ abi: carLoanAbi, functionName, args: [car.loanId] }) },
          'latest',
        ],
      }) as Promise<Hex>
    const answers = Promise.all([read('getLoan'), read('policyOf')])
    request.flush()
    expect(sent).toEqual(['eth_call'])
    const [loan, policy] = await answers
    expect(loan.length).toBeGreaterThan(2)
    expect(policy.length).toBeGreaterThan(2)
    expect(sent).toEqual(['eth_call'])
  })

  it('sends a lone read at once, as a plain eth_call', async () => {
    const { client, sent } = clientCounting(true)
    const count = await client.readContract({
      address: stack.deployment.contracts.CarLoan,
      abi: carLoanAbi,
      functionName: 'loanCount',
    })
    expect(count).toBe(1n)
    expect(sent).toEqual(['eth_call'])
  })
})
