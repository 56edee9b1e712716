// The cars of `bench/floodPublish.ts`, in a process of their own (as real cars are other machines): `keys`
// in argv[2] as JSON. Each logs in as its device, subscribes to its desired topic and, for every command,
// publishes a report (QoS 1, retained) of the version it got. Tells its parent 'ready' once all are
// subscribed, and 'got' with the count whenever asked. Exits when the parent disconnects.
import { deviceLogin, topics } from '@pbj/device'
import { connectAsync } from 'mqtt'
import { privateKeyToAddress } from 'viem/accounts'

const { brokerUrl, topicPrefix, keys } = JSON.parse(process.argv[2] ?? '{}') as {
  brokerUrl: string
  topicPrefix: string
  keys: `0x${string}`[]
}
const names = topics(topicPrefix)
let got = 0
await Promise.all(
  keys.map(async (key) => {
    const id = privateKeyToAddress(key).toLowerCase()
    const client = await connectAsync(brokerUrl, { ...deviceLogin(key), clientId: id, reconnectPeriod: 0 })
    client.on('message', (_topic, payload) => {
      if (payload.length === 0) return
      got++
      const { version } = JSON.parse(payload.toString()) as { version: number }
      client.publish(names.reported(id), JSON.stringify({ deviceId: id, version }), { qos: 1, retain: true })
    })
    await client.subscribeAsync(names.desired(id), { qos: 1 })
  }),
)
process.on('message', () => process.send?.({ type: 'got', got }))
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
