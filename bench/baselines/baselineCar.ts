import type { MqttClient } from 'mqtt'
import { now } from '#pbj/internal/now.js'
import { ackTopic, type BaselineAck, type BaselineCommand, commandTopic } from './baselineCommand.js'
import { connectMqtt } from './connectMqtt.js'
import { type Arrivals, createArrivals } from './createArrivals.js'

/** A command as the car received it. */
export type CarReceipt = { at: number; command: BaselineCommand }

/** The bench's stand-in for a car: records each command's arrival and acknowledges it at once. */
export type BaselineCar = {
  /** Commands received, by payment transaction, with the moment ({@link now}) each arrived. */
  commands: Arrivals<CarReceipt>
  stop(): Promise<void>
}

/**
 * Starts a "car" for one loan: an mqtt.js client subscribed to the loan's command topic, TCP no-delay, that
 * publishes an ack on `<prefix>/<loanId>/ack` on receipt of each command. It does no work between the two:
 * the baselines are measured up to the moment the car could act, not what acting costs.
 *
 * @example
 * const car = await startBaselineCar({ brokerUrl: stack.brokerUrl, topicPrefix, loanId })
 * const { at } = await car.commands.wait(hash, 10_000, 'the command')
 */
export async function startBaselineCar(params: {
  brokerUrl: string
  topicPrefix: string
  loanId: bigint
}): Promise<BaselineCar> {
  const commands = createArrivals<CarReceipt>()
  const client: MqttClient = await connectMqtt(params.brokerUrl, { noDelay: true })
  const topic = commandTopic(params.topicPrefix, params.loanId)
  client.on('message', (received, payload) => {
    const at = now()
    if (received !== topic) return
    const command = JSON.parse(String(payload)) as BaselineCommand
    const ack: BaselineAck = { tx: command.tx, ok: true }
    client.publish(ackTopic(params.topicPrefix, params.loanId), JSON.stringify(ack))
    commands.set(command.tx, { at, command })
  })
  client.on('close', () => commands.fail(new Error('the bench car lost its MQTT connection')))
  await client.subscribeAsync(topic)
  return {
    commands,
    stop: async () => {
      client.removeAllListeners('close')
      await client.endAsync()
    },
  }
}
