// `npm run attacks [-- --only contracts,functions]`
//
// Tries every attack on who may decide a car's fate, from outside accounts, rogue functions and outside MQTT
// clients, against a real Anvil and real brokers: the contracts (who may register a device, open a loan,
// claim a project…), the functions (what a function may command or send), the device (forged, replayed and
// flooded commands at a real car) and the broker (who may publish, subscribe, take a car's session). Prints
// one line per attack on stderr and ends with one JSON line on stdout:
// {"tried":…,"kinds":…,"gotThrough":0,"wrongLocks":0,"missedUnlocks":0,"unexpected":0,…}
// Exits 1 if any attack got through.
import type { AttackResult } from './attack.js'
import { summarize } from './attack.js'
import { runBrokerAttacks } from './brokerAttacks.js'
import { runContractAttacks } from './contractAttacks.js'
import { runDeviceAttacks } from './deviceAttacks.js'
import { runFunctionAttacks } from './functionAttacks.js'

const log = (line: string) => process.stderr.write(`${line}\n`)
const groups: Record<string, (log: (line: string) => void) => Promise<AttackResult[]>> = {
  contracts: runContractAttacks,
  functions: runFunctionAttacks,
  device: runDeviceAttacks,
  broker: runBrokerAttacks,
}
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : Object.keys(groups)
const startedAt = performance.now()
const results: AttackResult[] = []
for (const name of only) {
  const run = groups[name]
  if (!run) {
    log(`unknown group ${name}; groups: ${Object.keys(groups).join(', ')}`)
    process.exit(2)
  }
  log(`${name}:`)
  results.push(...(await run(log)))
}
const summary = summarize(results)
process.stdout.write(
  `${JSON.stringify({ ...summary, seconds: Math.round((performance.now() - startedAt) / 100) / 10 })}\n`,
)
process.exit(summary.gotThrough === 0 ? 0 : 1)
