/** What the parent tells a growth child, once it is spawned (its config comes as argv[2], JSON). */
export type ToChild =
  /** Start the engine again at its stored cursor and catch up to `head` (a decimal block number). */
  | { type: 'catchUp'; head: string }
  /** From now on, count CPU: the live blocks come. */
  | { type: 'measure' }
  /** Report CPU per block and memory, then stop. */
  | { type: 'report' }

/** What a growth child tells the parent. */
export type FromChild =
  /** The engine processed the start block (a cursor is stored) and was stopped: the "downtime" begins. */
  | { type: 'primed'; cursor: string }
  | { type: 'caughtUp'; seconds: number; cpuMs: number; blocks: number }
  | { type: 'measuring' }
  /** A live block was processed, and the jobs it caused have run. */
  | { type: 'processed'; number: string; jobs: number; latencyMs: number }
  | { type: 'report'; report: ChildReport }
  | { type: 'warning'; message: string }

/** One engine's figures with a number of loans watched. */
export type ChildReport = {
  blocks: number
  cpuMs: number
  cpuPerBlockMs: number
  rssMb: number
  heapUsedMb: number
  externalMb: number
  timers: number
  runs: number
  warnings: number
}

/** The child's configuration (argv[2]). */
export type ChildConfig = {
  rpcUrls: string[]
  brokerUrl: string
  /** The embedded broker's engine login: the engine runs in the child and cannot look it up there. */
  brokerLogin: { username: string; password: string }
  floodAddress: `0x${string}`
  database: string
  functionsDir: string
  /** The block the first engine starts at (and processes), so the store has a cursor. */
  startBlock: number
}
