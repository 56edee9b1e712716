// `npm run chaos [-- --only a,b]`: issue 12's failures against real processes (pbj start through its
// wrapper, Anvil, a broker, simulated cars). One JSON line per scenario on stdout, then the run's:
// {"scenarios":N,"hung":0,"orphans":0,"lost":0,"duplicated":0,"wrongLocks":0,"unhealedDrift":0,"failed":0,…}
// Exit 1 when any count is not 0. PBJ_CHAOS_VERBOSE=1 forwards every engine line to stderr.

import { okOf, runChaos } from './lib/runChaos.js'
import { scenarios } from './scenarios.js'

const at = process.argv.indexOf('--only')
const only = at > 0 ? (process.argv[at + 1] ?? '').split(',').filter(Boolean) : []
const summary = await runChaos(scenarios, {
  only,
  log: (line) => process.stderr.write(`${line}\n`),
  onResult: (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
})
process.stdout.write(`${JSON.stringify(summary)}\n`)
process.exitCode = okOf(summary) ? 0 : 1
// Whatever a scenario left behind (a broker socket, a timer) must not keep the run from ending.
setTimeout(() => process.exit(), 1000).unref()
