import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../internal/errors.js'
import { loadConfig } from './loadConfig.js'
import { validateConfig } from './validateConfig.js'

const fail = (input: unknown) => {
  try {
    validateConfig(input, 'pbj.config.ts')
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('validateConfig', () => {
  it('accepts an empty config (embedded defaults) and a full one', () => {
    expect(validateConfig({}, 'x')).toEqual({})
    const full = {
      rpcUrl: 'ws://127.0.0.1:8545',
      brokerUrl: 'mqtt://127.0.0.1:1883',
      broker: { protocolVersion: 5, topicPrefix: 'fleet/eu' },
      database: '.pbj/pbj.db',
      functions: 'functions',
      contracts: { CarLoan: { address: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } },
      limits: { timeoutMs: 2000, memoryMb: 64 },
    }
    expect(validateConfig(full, 'x')).toEqual(full)
  })

  it('names the field, what was wrong, and the fix', () => {
    const e = fail({ rpcUrl: 'localhost:8545' })
    expect(e.meta.field).toBe('rpcUrl')
    expect(e.shortMessage).toContain('rpcUrl must be a ws://, wss://, http://, https:// URL')
    expect(e.shortMessage).toContain('got "localhost:8545"')
    expect(e.hint).toContain('embedded Anvil')
  })

  it('reports nested fields and every problem', () => {
    const e = fail({ limits: { timeoutMs: -5 }, contracts: { CarLoan: { address: '0x123' } } })
    expect(e.message).toContain('limits.timeoutMs')
    expect(e.message).toContain('contracts.CarLoan.address: must be a 0x-prefixed 20-byte hex address')
  })

  it('checks the health server fields: a port 0–65535, a host, a lag in whole blocks', () => {
    expect(validateConfig({ health: { port: 0, host: '0.0.0.0', readyLagBlocks: 5 } }, 'x')).toEqual({
      health: { port: 0, host: '0.0.0.0', readyLagBlocks: 5 },
    })
    const port = fail({ health: { port: 70_000 } })
    expect(port.message).toContain('health.port: must be 0 (any free port) to 65535')
    expect(fail({ health: { port: '9464' } }).message).toContain('health.port: must be a port number')
    expect(fail({ health: { readyLagBlocks: 1.5 } }).message).toContain('health.readyLagBlocks')
    expect(fail({ health: { prot: 1 } }).message).toContain('prot')
  })

  it('rejects unknown fields by name', () => {
    const e = fail({ rpcURL: 'ws://x' })
    expect(e.shortMessage).toContain("unknown field(s) 'rpcURL'")
  })
})

describe('loadConfig', () => {
  const dir = () => mkdtempSync(join(process.cwd(), 'node_modules', '.pbj-config-test-'))

  it('loads pbj.config.ts with defineConfig and resolves paths', async () => {
    const d = dir()
    writeFileSync(
      join(d, 'pbj.config.ts'),
      "import { defineConfig } from 'pbj'\nexport default defineConfig({ functions: 'fns', limits: { timeoutMs: 500 } })\n",
    )
    const { config, file } = await loadConfig(d)
    expect(file).toBe(join(d, 'pbj.config.ts'))
    expect(config.functions).toBe(join(d, 'fns'))
    expect(config.limits?.timeoutMs).toBe(500)
  })

  it('gives file:line:column for a syntax error', async () => {
    const d = dir()
    writeFileSync(join(d, 'pbj.config.ts'), 'export default {\n  rpcUrl: ,\n}\n')
    await expect(loadConfig(d)).rejects.toThrow(/pbj\.config\.ts:2:\d+/)
  })

  it('validates a JSON config', async () => {
    const d = dir()
    writeFileSync(join(d, 'pbj.config.json'), JSON.stringify({ brokerUrl: 'http://x' }))
    await expect(loadConfig(d)).rejects.toThrow(/brokerUrl must be a mqtt:\/\//)
  })

  it('returns embedded defaults when there is no config file', async () => {
    expect(await loadConfig(dir())).toEqual({ config: {}, file: null })
  })
})
