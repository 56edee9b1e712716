// One car in a process of its own for `npm run bench:flood` (a real car is another machine: its work must
// not share the broker's event loop). Parameters as JSON in argv[2]; tells its parent 'ready' once
// subscribed, answers 'count' with how its messages ended (by refusal code), and exits when the parent
// disconnects.
import { createDeviceAgent } from '@pbj/device'

type CarParams = {
  brokerUrl: string
  topicPrefix: string
  deviceKey: string
  rpcUrl: string
  chainId: number
  registry: string
}

const params = JSON.parse(process.argv[2] ?? '{}') as CarParams
const outcomes: Record<string, number> = {}
const count = (code: string) => {
  outcomes[code] = (outcomes[code] ?? 0) + 1
}
const agent = await createDeviceAgent({
  brokerUrl: params.brokerUrl,
  topicPrefix: params.topicPrefix,
  deviceKey: params.deviceKey,
  chain: { rpcUrl: params.rpcUrl, chainId: params.chainId, registry: params.registry },
  onApplied: () => count('applied'),
  onRejected: (_reason, _raw, code) => count(code),
  logger: { warn: (message) => process.stderr.write(`car: ${message}\n`) },
})
await agent.ready
process.on('message', (m: { type: string }) => {
  if (m.type === 'count') process.send?.({ type: 'count', outcomes })
})
process.on('disconnect', () => {
  void agent.close().then(() => process.exit(0))
})
process.send?.({ type: 'ready' })
