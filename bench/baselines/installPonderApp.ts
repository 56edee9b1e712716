import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The bench-only Ponder app: its own package.json and lock file, not a workspace, installed on first use. */
export const ponderAppDir = fileURLToPath(new URL('./ponder-app', import.meta.url))

/** The Ponder CLI inside the app's node_modules. */
export const ponderBin = `${ponderAppDir}/node_modules/ponder/dist/esm/bin/ponder.js`

/** The installed Ponder version, and how long this call's install took (null: it was already installed). */
export type PonderInstall = { version: string; installMs: number | null }

/**
 * Installs the Ponder app with `npm ci` the first time it is needed, so Ponder (~240 packages, ~200 MB)
 * slows down neither `npm ci` nor `npm test` for everyone. npm's output goes to `log` (the bench's stderr),
 * with a heartbeat, since the install takes tens of seconds. Rejects with npm's last lines if it fails.
 *
 * @example
 * const { version, installMs } = await installPonderApp(log)
 */
export async function installPonderApp(log: (line: string) => void): Promise<PonderInstall> {
  const installed = () =>
    existsSync(ponderBin) && existsSync(`${ponderAppDir}/node_modules/mqtt/package.json`)
  let installMs: number | null = null
  if (!installed()) {
    log(`ponder: installing the bench's Ponder app (one time): npm ci --prefix ${ponderAppDir}`)
    const started = performance.now()
    await npmCi(log)
    installMs = Math.round(performance.now() - started)
    log(`ponder: installed in ${(installMs / 1000).toFixed(1)} s`)
    if (!installed()) throw new Error(`npm ci finished but ${ponderBin} is missing`)
  }
  const { version } = JSON.parse(
    readFileSync(`${ponderAppDir}/node_modules/ponder/package.json`, 'utf8'),
  ) as {
    version: string
  }
  return { version, installMs }
}

function npmCi(log: (line: string) => void): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const child = spawn(
    npm,
    ['ci', '--prefix', ponderAppDir, '--no-audit', '--no-fund', '--loglevel', 'http'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const tail: string[] = []
  let fetched = 0
  const onOutput = (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) {
      if (!line.trim()) continue
      tail.push(line)
      if (tail.length > 20) tail.shift()
      // `--loglevel http` prints one line per tarball fetched: count them instead of flooding stderr.
      if (line.startsWith('npm http fetch')) fetched++
      else log(`ponder: ${line}`)
    }
  }
  child.stdout.on('data', onOutput)
  child.stderr.on('data', onOutput)
  const started = performance.now()
  const heartbeat = setInterval(
    () => log(`ponder: npm ci … ${Math.round((performance.now() - started) / 1000)} s, ${fetched} requests`),
    5_000,
  )
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearInterval(heartbeat)
      reject(new Error(`could not run npm ci for the Ponder app: ${error.message}`))
    })
    child.once('exit', (code, signal) => {
      clearInterval(heartbeat)
      if (code === 0) resolve()
      else
        reject(
          new Error(`npm ci for the Ponder app failed (${signal ?? `exit ${code}`}): ${tail.join(' | ')}`),
        )
    })
  })
}
