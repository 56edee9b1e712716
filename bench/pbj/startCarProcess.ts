import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Hex } from 'viem'
import type { DemoStack } from '#pbj/demo/startDemoStack.js'

/**
 * Starts simulated cars in a process of their own (bench/pbj/fleetCars.ts): real cars are other machines,
 * so their verification and signing must not share the engine's event loop. Resolves once every car is
 * connected; `stop` waits for the process to end. `batchRpc`: the cars share one client (a thousand cars
 * on one local Anvil): one WebSocket, so one head subscription and one registry scan per block for them
 * all, instead of a connection each.
 *
 * @example
 * const cars = await startCarProcess(stack, { topicPrefix, keys: [car.devicePrivateKey], batchRpc: false, log })
 * await cars.stop()
 */
export function startCarProcess(
  stack: DemoStack,
  options: { topicPrefix: string; keys: Hex[]; batchRpc: boolean; log: (line: string) => void },
): Promise<{ stop: () => Promise<void>; pid: number | undefined }> {
  const { keys, log } = options
  const child = fork(
    fileURLToPath(new URL('./fleetCars.ts', import.meta.url)),
    [
      JSON.stringify({
        brokerUrl: stack.brokerUrl,
        topicPrefix: options.topicPrefix,
        // A WebSocket: the node pushes heads, so the cars learn operator changes without asking, and a
        // read costs ~0.3 ms against ~2 ms over HTTP with fetch. A fleet shares one.
        rpcUrl: stack.wsUrl,
        chainId: stack.deployment.chainId,
        registry: stack.deployment.contracts.DeviceRegistry,
        keys,
        batchRpc: options.batchRpc,
      }),
    ],
    { execArgv: ['--no-node-snapshot', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Waits for the cars to go before the chain does: cars left behind would log a thousand failed reads.
  const stop = async () => {
    if (child.connected) child.disconnect()
    setTimeout(() => child.kill('SIGKILL'), 3_000).unref()
    await exited
  }
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type: string; connected?: number }) => {
      if (m.type === 'progress' && keys.length >= 250 && (m.connected ?? 0) % 250 === 0)
        log(`  ${m.connected}/${keys.length} cars connected`)
      if (m.type === 'ready') resolve({ stop, pid: child.pid })
    })
    child.on('exit', (code) => reject(new Error(`the cars' process exited (${code}) before it was ready`)))
  })
}
