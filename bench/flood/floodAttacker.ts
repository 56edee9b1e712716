// The attacker of `npm run bench:flood`'s `acl` mode, in a process of its own (a real attacker is another
// machine: writing 10,000 messages must not share the engine's and the broker's event loop). It logs in as a
// device with its own key, as anyone may on the embedded broker. Parameters as JSON in argv[2]. On
// { type: 'flood', size, version } it signs the flood, publishes half to the car's desired topic (QoS 0),
// tells its parent 'half', publishes the rest, and answers 'done'. Exits when the parent disconnects.
import { deviceLogin, type PbjDomain } from '@pbj/device'
import { connectAsync } from 'mqtt'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { signFlood } from '../../test/helpers/signFlood.js'

type AttackerParams = { brokerUrl: string; topic: string; deviceId: string; domain: PbjDomain }

const params = JSON.parse(process.argv[2] ?? '{}') as AttackerParams
const key = generatePrivateKey()
const login = () => ({ ...deviceLogin(key), clientId: privateKeyToAddress(key).toLowerCase() })
process.on('message', async (m: { type: string; size: number; version: number }) => {
  if (m.type !== 'flood') return
  const flood = signFlood({
    domain: params.domain,
    deviceId: params.deviceId,
    count: m.size,
    version: m.version,
  })
  // A fresh connection per flood: the broker disconnects a device at its first refused publish.
  const client = await connectAsync(params.brokerUrl, { ...login(), reconnectPeriod: 0 })
  client.on('error', () => {})
  const half = Math.floor(flood.length / 2)
  for (const payload of flood.slice(0, half)) client.publish(params.topic, payload, { qos: 0 })
  process.send?.({ type: 'half' })
  for (const payload of flood.slice(half)) client.publish(params.topic, payload, { qos: 0 })
  await client.endAsync(true).catch(() => {})
  process.send?.({ type: 'done' })
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
