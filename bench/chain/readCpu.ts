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
for (let r = 0; r < 5; r++) {
  const at = block - BigInt(r % 2) // block - 1: no header noted, so not cached
  const first = await round(at)
  const again = await round(at)
  console.log(
    `${n} reads: ${first.us.toFixed(1)} µs CPU/read (${first.ms.toFixed(0)} ms); same again ${again.us.toFixed(1)} µs CPU/read (${again.ms.toFixed(0)} ms)`,
  )
}
await chain.close()
await stack.stop()
