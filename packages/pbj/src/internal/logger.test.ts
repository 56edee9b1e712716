import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { stripVTControlCharacters } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger, silentLogger } from './logger.js'

/** What a process writing three records prints; `LOG_MODE=silent` makes it use silentLogger. */
const child = `const { createLogger, silentLogger } = await import(${JSON.stringify(new URL('./logger.ts', import.meta.url).href)})
const logger = process.env.LOG_MODE === 'silent' ? silentLogger : createLogger()
logger.info('block processed', { block: 12n, deviceId: '0xab' })
logger.warn('broker reconnecting', { url: 'mqtt://b', error: new Error('ECONNREFUSED') })
logger.error('run failed', { fn: 'lockCar' })
`
const dir = mkdtempSync(join(tmpdir(), 'pbj-logger-'))
const script = join(dir, 'child.mjs')
writeFileSync(script, child)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `command` and returns what it wrote on stdout and stderr (both pipes) once it exited with 0. */
async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
  })
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const [code] = (await once(proc, 'exit')) as [number | null]
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' })
  return { stdout, stderr }
}

const nodeArgs = ['--import', 'tsx', script]
/** The same child with its stderr on a pseudo-terminal: `script` gives it one and copies it to stdout. */
const onTerminal = ['-qec', [process.execPath, ...nodeArgs].map((a) => `'${a}'`).join(' '), '/dev/null']

const withoutColors = (text: string) => stripVTControlCharacters(text).replaceAll('\r', '')

function collector(): { stream: Writable; text: () => string } {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk
      done()
    },
  })
  return { stream, text: () => text }
}

describe('createLogger', () => {
  it('writes JSON lines with level, msg and fields when stderr is not a terminal', async () => {
    const { stdout, stderr } = await run(process.execPath, nodeArgs)
    expect(stdout).toBe('')
    const records = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records).toHaveLength(3)
    expect(records[0]).toMatchObject({
      level: 30,
      name: 'pbj',
      msg: 'block processed',
      block: '12',
      deviceId: '0xab',
    })
    expect(records[1]).toMatchObject({
      level: 40,
      msg: 'broker reconnecting',
      url: 'mqtt://b',
      error: 'ECONNREFUSED',
    })
    expect(records[2]).toMatchObject({ level: 50, msg: 'run failed', fn: 'lockCar' })
    for (const record of records) expect(typeof record.time).toBe('number')
  })

  it('writes pretty lines with the message and fields in human form when stderr is a terminal', async () => {
    const { stdout } = await run('script', onTerminal)
    const text = withoutColors(stdout)
    expect(text).not.toMatch(/^\{/m)
    expect(text).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(pbj\): block processed\n {4}block: "12"\n {4}deviceId: "0xab"$/m,
    )
    expect(text).toMatch(
      /WARN \(pbj\): broker reconnecting\n {4}url: "mqtt:\/\/b"\n {4}error: "ECONNREFUSED"$/m,
    )
    expect(text).toMatch(/ERROR \(pbj\): run failed\n {4}fn: "lockCar"$/m)
    // Colors are for the terminal: the raw output has them.
    expect(stripVTControlCharacters(stdout)).not.toBe(stdout)
  })

  it('writes to a given destination, as JSON or pretty, and drops records below its level', async () => {
    const json = collector()
    const logger = createLogger({ pretty: false, destination: json.stream, level: 'warn', name: 'car' })
    logger.info('not written')
    logger.warn('written', { wei: 10n ** 18n })
    expect(
      json
        .text()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toMatchObject([{ level: 40, name: 'car', msg: 'written', wei: '1000000000000000000' }])

    const pretty = collector()
    createLogger({ pretty: true, destination: pretty.stream }).info('block processed', { block: 7n })
    await expect
      .poll(() => withoutColors(pretty.text()))
      .toMatch(/INFO \(pbj\): block processed\n {4}block: "7"\n/)
  })
})

describe('silentLogger', () => {
  it('writes nothing', async () => {
    expect(await run(process.execPath, nodeArgs, { LOG_MODE: 'silent' })).toEqual({ stdout: '', stderr: '' })
    expect(silentLogger.info('x', { a: 1 })).toBeUndefined()
  })
})
