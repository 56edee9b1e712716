/**
 * CPU per contract read through the engine's chain connection (encode, cache, batch, multicall, decode): N
 * `getLoan` reads in one tick at one block against the demo stack's Anvil, `process.cpuUsage()` around them;
 * then the same N again (what a shared or prefetched read costs a run).
 * Run: node --no-node-snapshot --import tsx bench/chain/readCpu.ts [reads]
 */
import { carLoanAbi } from '@pbj/contracts'
import { createChainConnection } from '#pbj/chain/createChainConnection.js'
import { startDemoStack } from '#pbj/demo/startDemoStack.js'

const n = Number(process.argv[2] ?? 2000)
const stack = await startDemoStack({ cars: 1 })
const chain = await createChainConnection({ rpcUrl: stack.wsUrl })
const block = (await chain.getHeader('latest')).number
const loanId = stack.cars[0]?.loanId ?? 1n
const round = async (at: bigint) => {
  const cpu = process.cpuUsage()
  const t = performance.now()
  await Promise.all(
    Array.from({ length: n }, () =>
      chain.readContract({
        address: stack.deployment.contracts.CarLoan,
        abi: carLoanAbi,
        functionName: 'getLoan',
        args: [loanId],
        blockNumber: at,
      }),
    ),
  )
  const used = process.cpuUsage(cpu)
  return { us: (used.user + used.system) / n, ms: performance.now() - t }
}
// `block - 1`: no header of it went through the connection, so its reads are never cached (the cost of a
// read the node answers); `block` again and again: the cost of a read another run (or a prefetch) made.
const uncached: number[] = []
const cached: number[] = []
await round(block)
for (let r = 0; r < 8; r++) {
  uncached.push((await round(block - 1n)).us)
  cached.push((await round(block)).us)
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(1)
console.log(
  `${n} reads a round, µs CPU per read (median of 8): node-answered ${median(uncached)}, repeated ${median(cached)}`,
)
await chain.close()
await stack.stop()
