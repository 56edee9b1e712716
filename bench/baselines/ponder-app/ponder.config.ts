import { createConfig } from 'ponder'
import { installmentPaidAbi } from './src/installmentPaidAbi'

// Everything comes from the environment: bench/baselines/ponderBaseline.ts starts this app against the
// bench's own Anvil, whose chain id, CarLoan address and block numbers change with every run.
const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: start this app through bench/baselines/ponderBaseline.ts`)
  return value
}

export default createConfig({
  // A database made for this run by the bench (bench/baselines/createPonderDatabase.ts) and dropped after it.
  database: process.env.PBJ_BENCH_PONDER_DATABASE_URL
    ? { kind: 'postgres', connectionString: process.env.PBJ_BENCH_PONDER_DATABASE_URL }
    : { kind: 'pglite', directory: env('PBJ_BENCH_PONDER_PGLITE_DIR') },
  chains: {
    anvil: {
      id: Number(env('PBJ_BENCH_CHAIN_ID')),
      rpc: env('PBJ_BENCH_RPC_URL'),
      // Realtime blocks by eth_subscribe('newHeads') rather than polling eth_getBlockByNumber every second.
      ws: env('PBJ_BENCH_WS_URL'),
      // Every bench run is a fresh Anvil with the same chain id: a cached response would be from another chain.
      disableCache: true,
    },
  },
  contracts: {
    CarLoan: {
      chain: 'anvil',
      abi: installmentPaidAbi,
      address: env('PBJ_BENCH_CAR_LOAN') as `0x${string}`,
      startBlock: Number(env('PBJ_BENCH_START_BLOCK')),
    },
  },
})
