// A fleet of simulated cars in a process of their own (the engine's process is what the benchmark
// measures; real cars are other machines). Started by measureFleet with the fleet's parameters as JSON in
// argv[2]; tells its parent 'ready' once every car is connected, and exits when the parent disconnects.
import { type DeviceAgent, startSimulatedCar } from '@pbj/device'
import { createPublicClient, http, webSocket } from 'viem'
import { profileWindow } from '../lib/profileWindow.js'

type FleetParams = {
  brokerUrl: string
  topicPrefix: string
  rpcUrl: string
  chainId: number
  registry: string
  keys: string[]
  /**
   * One client for all the cars (a fleet on one local Anvil): over ws(s) one WebSocket, so the fleet
   * shares one head subscription and one registry scan per block; over http(s) one batching client.
   */
  batchRpc: boolean
}

const params = JSON.parse(process.argv[2] ?? '{}') as FleetParams
// One client for the whole fleet: a thousand cars each with its own connection to one local Anvil would
// exhaust it, where real cars each reach their own node. Over a WebSocket the cars share one head
// subscription (one watcher of the registry), so a known operator's command costs them no RPC; over http
// the client batches their reads (50 a batch: a block of a thousand transactions makes each getBlock
// answer ~66 KB, and viem refuses bodies over 10 MB).
const shared = { retryCount: 1, timeout: 5_000 }
const client = !params.batchRpc
  ? undefined
  : params.rpcUrl.startsWith('ws')
    ? createPublicClient({ transport: webSocket(params.rpcUrl, shared) })
    : createPublicClient({ transport: http(params.rpcUrl, { ...shared, batch: { batchSize: 50, wait: 1 } }) })
const agents: DeviceAgent[] = []
// A few at a time: 1,000 simultaneous MQTT connects would time out against a broker in a busy process.
const parallel = 50
for (let i = 0; i < params.keys.length; i += parallel) {
  const started = await Promise.all(
    params.keys.slice(i, i + parallel).map(async (deviceKey) => {
      const agent = await startSimulatedCar({
        brokerUrl: params.brokerUrl,
        deviceKey,
        topicPrefix: params.topicPrefix,
        chain: {
          rpcUrl: params.rpcUrl,
          chainId: params.chainId,
          registry: params.registry,
          ...(client ? { client } : {}),
        },
        print: () => {},
      })
      await agent.ready
      return agent
    }),
  )
  agents.push(...started)
  process.send?.({ type: 'progress', connected: agents.length })
}
process.send?.({ type: 'ready', cars: agents.length })
// PBJ_BENCH_PROFILE=<dir>: the cars' CPU profile from ready to the parent's leaving, none of the set-up in it.
const disconnected = new Promise<void>((resolve) => process.once('disconnect', resolve))
await profileWindow(`cars-${process.pid}`, () => disconnected)
await Promise.all(agents.map((a) => a.close())).finally(() => process.exit(0))
