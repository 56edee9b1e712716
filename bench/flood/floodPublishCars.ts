// The cars of `bench/floodPublish.ts`, in a process of their own (as real cars are other machines): `keys`
// in argv[2] as JSON. Each logs in as its device, subscribes to its desired topic and, for every command,
// publishes a report (QoS 1, retained) of the version it got. Tells its parent 'ready' once all are
// subscribed, and 'got' with the count whenever asked; on 'reconnect' all reconnect and it answers once each
// has its retained command again. Exits when the parent disconnects.
import { deviceLogin, topics } from '@pbj/device'
import { connectAsync, type MqttClient } from 'mqtt'
import { privateKeyToAddress } from 'viem/accounts'

const { brokerUrl, topicPrefix, keys } = JSON.parse(process.argv[2] ?? '{}') as {
  brokerUrl: string
  topicPrefix: string
  keys: `0x${string}`[]
}
const names = topics(topicPrefix)
let got = 0
const clients: MqttClient[] = []
const connectAll = () =>
  Promise.all(
    keys.map(async (key) => {
      const id = privateKeyToAddress(key).toLowerCase()
      const client = await connectAsync(brokerUrl, { ...deviceLogin(key), clientId: id, reconnectPeriod: 0 })
      clients.push(client)
      client.on('message', (_topic, payload) => {
        if (payload.length === 0) return
        got++
        const { version } = JSON.parse(payload.toString()) as { version: number }
        client.publish(names.reported(id), JSON.stringify({ deviceId: id, version }), {
          qos: 1,
          retain: true,
        })
      })
      await client.subscribeAsync(names.desired(id), { qos: 1 })
    }),
  )
await connectAll()
process.on('message', async (m: { type?: string }) => {
  if (m.type !== 'reconnect') return void process.send?.({ type: 'got', got })
  // Every car drops its connection and comes back (a network blip): its retained command is sent again.
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)))
  const before = got
  const started = performance.now()
  await connectAll()
  while (got < before + keys.length) await new Promise((resolve) => setTimeout(resolve, 5))
  process.send?.({ type: 'reconnected', ms: performance.now() - started })
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
