import type { BrokerLogin } from '../actions/broker/embeddedBrokerLogin.js'
import { startEmbeddedBroker } from '../actions/broker/startEmbeddedBroker.js'
import { installMulticall3 } from '../chain/installMulticall3.js'
import { startAnvil } from '../chain/startAnvil.js'
import { createDemoCar, type DemoCar } from './createDemoCar.js'
import { type DemoDeployment, deployDemo } from './deployDemo.js'

/** A step of a long start-up, for progress output. */
export type Progress = (step: string, detail: Record<string, unknown>) => void

/** A chain with the demo contracts, a broker, and demo cars with loans. */
export type DemoStack = {
  rpcUrl: string
  wsUrl: string
  brokerUrl: string
  /**
   * The embedded broker's engine login (undefined with an external broker): the engine finds it by itself;
   * here to show a developer's own MQTT tools (mosquitto_sub) how to look at every topic.
   */
  brokerLogin?: BrokerLogin | undefined
  deployment: DemoDeployment
  cars: DemoCar[]
  stop(): Promise<void>
}

/**
 * Starts the embedded stack the demo and `pbj dev` run on: Anvil, an MQTT broker (aedes), the contracts,
 * and `cars` cars each with a wallet and a loan. Pass `brokerUrl` to use an external broker instead.
 *
 * @example
 * const stack = await startDemoStack({ cars: 1, onProgress: (step) => console.log(step) })
 * await stack.stop()
 */
export async function startDemoStack(
  options: { cars?: number; brokerUrl?: string; onProgress?: Progress } = {},
): Promise<DemoStack> {
  const progress = options.onProgress ?? (() => {})
  const stops: (() => Promise<void>)[] = []
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {})
  }
  try {
    let t = performance.now()
    const anvil = await startAnvil()
    stops.push(anvil.stop)
    // The engine batches view calls through Multicall3, as on public chains where it is deployed.
    await installMulticall3(anvil.rpcUrl)
    progress('anvil', { rpcUrl: anvil.rpcUrl, wsUrl: anvil.wsUrl, chainId: anvil.chainId, ms: ms(t) })
    t = performance.now()
    let brokerUrl = options.brokerUrl
    let brokerLogin: BrokerLogin | undefined
    if (!brokerUrl) {
      const broker = await startEmbeddedBroker()
      stops.push(broker.close)
      brokerUrl = broker.url
      brokerLogin = broker.engineLogin
    }
    progress('broker', { brokerUrl, embedded: !options.brokerUrl, ms: ms(t) })
    t = performance.now()
    const deployment = await deployDemo({ rpcUrl: anvil.rpcUrl })
    progress('contracts', { contracts: deployment.contracts, ms: ms(t) })
    const cars: DemoCar[] = []
    for (let i = 0; i < (options.cars ?? 1); i++) {
      t = performance.now()
      const car = await createDemoCar(deployment)
      cars.push(car)
      progress('car', { ...car, ms: ms(t) })
    }
    return { rpcUrl: anvil.rpcUrl, wsUrl: anvil.wsUrl, brokerUrl, brokerLogin, deployment, cars, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

const ms = (since: number) => Math.round(performance.now() - since)
