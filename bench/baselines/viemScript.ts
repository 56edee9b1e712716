import { carLoanAbi } from '@pbj/contracts'
import { type Address, createPublicClient, http, webSocket } from 'viem'
import { now } from '#pbj/internal/now.js'
import { type BaselineAck, type BaselineCommand, commandTopic } from './baselineCommand.js'
import { connectMqtt } from './connectMqtt.js'
import { createArrivals } from './createArrivals.js'
import type { RunningBaseline } from './runningBaseline.js'

/**
 * Starts "the script most users would write by hand": a viem public client with default settings watching
 * CarLoan's `InstallmentPaid` (`watchContractEvent`), and in `onLogs` an mqtt.js `publish` of the unlock
 * command with default options. Over `http` viem polls a filter every 4 s (its default `pollingInterval`);
 * over `webSocket` it subscribes with `eth_subscribe('logs')` and is pushed each log.
 *
 * Nothing is tuned: no polling interval, no QoS, no TCP no-delay. That is the point of the baseline.
 *
 * @example
 * const script = await startViemScript({ transport: 'webSocket', url: stack.wsUrl, carLoan, brokerUrl, topicPrefix })
 * const ackedAt = await script.acked.wait(hash, 10_000, 'the ack')
 */
export async function startViemScript(params: {
  transport: 'http' | 'webSocket'
  url: string
  carLoan: Address
  brokerUrl: string
  topicPrefix: string
}): Promise<RunningBaseline> {
  const handlerStarted = createArrivals<number>()
  const acked = createArrivals<number>()
  const mqtt = await connectMqtt(params.brokerUrl)
  mqtt.on('message', (_topic, payload) => {
    const at = now()
    acked.set((JSON.parse(String(payload)) as BaselineAck).tx, at)
  })
  await mqtt.subscribeAsync(`${params.topicPrefix}/+/ack`)

  const client = createPublicClient({
    transport: params.transport === 'http' ? http(params.url) : webSocket(params.url),
  })
  const unwatch = client.watchContractEvent({
    address: params.carLoan,
    abi: carLoanAbi,
    eventName: 'InstallmentPaid',
    onLogs: (logs) => {
      const at = now()
      for (const log of logs) {
        handlerStarted.set(log.transactionHash, at)
        const loanId = log.args.loanId ?? 0n
        const command: BaselineCommand = { unlock: true, loanId: String(loanId), tx: log.transactionHash }
        mqtt.publish(commandTopic(params.topicPrefix, loanId), JSON.stringify(command))
      }
    },
    // A script that stops hearing the chain fails its samples at once rather than timing out one by one.
    onError: (error) => {
      handlerStarted.fail(error)
      acked.fail(error)
    },
  })

  let stopped: Promise<void> | undefined
  return {
    handlerStarted,
    acked,
    stop: () => {
      stopped ??= (async () => {
        unwatch()
        await mqtt.endAsync()
        // viem keeps WebSockets open in a cache shared by URL; close ours so the process can exit.
        if (params.transport === 'webSocket') {
          const transport = client.transport as { getRpcClient?: () => Promise<{ close(): void }> }
          await transport
            .getRpcClient?.()
            .then((rpc) => rpc.close())
            .catch(() => {})
        }
      })()
      return stopped
    },
  }
}
