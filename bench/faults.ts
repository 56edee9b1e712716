// `npm run faults`: the large fault-injection run. Ends with one JSON line:
// {"kills":…,"reorgs":…,"outages":…,"lost":0,"duplicated":0,"wrongLocks":0,…}
import { runFaults } from '../test/faults/runFaults.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}

const report = await runFaults({
  cars: arg('cars', 40),
  kills: arg('kills', 100),
  reorgs: arg('reorgs', 10),
  outages: arg('outages', 5),
  log: (line) => process.stderr.write(`${line}\n`),
})
process.stdout.write(`${JSON.stringify(report)}\n`)
process.exitCode = report.lost === 0 && report.duplicated === 0 && report.wrongLocks === 0 ? 0 : 1
