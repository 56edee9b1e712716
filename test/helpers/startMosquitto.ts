import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import {
  accessSync,
  appendFileSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getFreePort } from '#pbj/internal/freePort.js'

/** The example Mosquitto config and ACL that docs/devices.md and docs/operations.md document. */
export const mosquittoDocsDir = fileURLToPath(new URL('../../docs/mosquitto', import.meta.url))

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Finds an executable in the usual places and on PATH; undefined when it is not installed. */
export function findExecutable(name: string, places: string[] = []): string | undefined {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean)
  return [...places, ...path.map((dir) => join(dir, name))].find(executable)
}

/** The Mosquitto broker binary (Debian/Ubuntu put it in /usr/sbin), or undefined. */
export const mosquittoBinary = findExecutable('mosquitto', [
  '/usr/sbin/mosquitto',
  '/usr/local/sbin/mosquitto',
  '/opt/homebrew/sbin/mosquitto',
])

/**
 * A line of a Mosquitto password file, hashed as `mosquitto_passwd` 2.x does (`$7$`: PBKDF2-SHA512, 101
 * iterations, 12-byte salt), for machines without mosquitto_passwd.
 *
 * @example
 * mosquittoPasswordLine('pbj', 'secret') // 'pbj:$7$101$<salt>$<hash>'
 */
export function mosquittoPasswordLine(username: string, password: string): string {
  const salt = randomBytes(12)
  const hash = pbkdf2Sync(password, salt, 101, 64, 'sha512')
  return `${username}:$7$101$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** A Mosquitto started by {@link startMosquitto}. */
export type TestMosquitto = { url: string; port: number; log: () => string; stop(): Promise<void> }

/**
 * Starts a private Mosquitto on a free port of 127.0.0.1 with the documented config (docs/mosquitto:
 * no anonymous clients, a password file, the ACL, TCP no-delay), its paths pointed at a temp folder. Users
 * in `users` are added with mosquitto_passwd when it is installed, else hashed here; users in
 * `hashedHere` are always hashed here (to test that path). Never touches the system's Mosquitto.
 *
 * @example
 * const broker = await startMosquitto({ users: { pbj: 'engine-secret' } })
 * // mqtt.connectAsync(broker.url, { username: 'pbj', password: 'engine-secret' })
 * await broker.stop()
 */
export async function startMosquitto(options: {
  users: Record<string, string>
  hashedHere?: Record<string, string>
  /** Lines appended to the documented ACL, e.g. a test's own observer user. */
  aclExtra?: string
}): Promise<TestMosquitto> {
  if (!mosquittoBinary) throw new Error('mosquitto is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'pbj-mosquitto-'))
  const passwords = join(dir, 'passwd')
  const acl = join(dir, 'acl')
  writeFileSync(acl, `${readFileSync(join(mosquittoDocsDir, 'acl'), 'utf8')}\n${options.aclExtra ?? ''}\n`)
  writeFileSync(passwords, '')
  const passwd = findExecutable('mosquitto_passwd')
  for (const [username, password] of Object.entries(options.users)) {
    if (passwd) execFileSync(passwd, ['-b', passwords, username, password], { stdio: 'pipe' })
    else appendFileSync(passwords, `${mosquittoPasswordLine(username, password)}\n`)
  }
  for (const [username, password] of Object.entries(options.hashedHere ?? {}))
    appendFileSync(passwords, `${mosquittoPasswordLine(username, password)}\n`)

  const documented = readFileSync(join(mosquittoDocsDir, 'mosquitto.conf'), 'utf8')
  const configFor = (port: number) =>
    `${documented
      .replace(/^listener .*$/m, `listener ${port} 127.0.0.1`)
      .replace(/^password_file .*$/m, `password_file ${passwords}`)
      .replace(/^acl_file .*$/m, `acl_file ${acl}`)}
# Test only: as root Mosquitto would switch to the 'mosquitto' user, which cannot read this temp folder.
user ${userInfo().username}
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
`
  // Another process may take the free port before Mosquitto binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await getFreePort()
    const config = join(dir, 'mosquitto.conf')
    writeFileSync(config, configFor(port))
    let output = ''
    const child = spawn(mosquittoBinary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => (output += d))
    child.stderr?.on('data', (d: Buffer) => (output += d))
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    if (await running(child, () => output, 5_000)) {
      return {
        url: `mqtt://127.0.0.1:${port}`,
        port,
        log: () => output,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
          await exited
          rmSync(dir, { recursive: true, force: true })
        },
      }
    }
    child.kill('SIGKILL')
    await exited
    if (attempt >= 3 || !/in use/i.test(output)) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`mosquitto did not start on port ${port}:\n${output}`)
    }
  }
}

/** Waits for Mosquitto's "running" notice (it binds first); false if it exits or the time is up first. */
async function running(child: ChildProcess, output: () => string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end && child.exitCode === null && child.signalCode === null) {
    if (/ running$/m.test(output())) return true
    await new Promise((r) => setTimeout(r, 10))
  }
  return false
}
