import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import {
  BrokerConnectError,
  BrokerUrlError,
  DatabaseCorruptError,
  DiskFullError,
  InvalidFlagError,
  PbjError,
  StoreLockedError,
  TransientError,
  UnknownContractError,
  WalMissingError,
} from '../internal/errors.js'
import { exitCodeOf, exitCodes } from './exitCodes.js'

const brokerDown = () =>
  new BrokerConnectError({
    url: 'mqtt://127.0.0.1:9',
    timeoutMs: 100,
    refusal: undefined,
    lastError: 'ECONNREFUSED',
  })

describe('exitCodeOf', () => {
  it('maps each family to its code of the contract', () => {
    expect(exitCodes).toEqual({ ok: 0, failed: 1, usage: 2, config: 3, store: 4, dependency: 5 })
    expect(exitCodeOf(new UnknownContractError({ name: 'Loan', where: 'trigger.contract', known: [] }))).toBe(
      3,
    )
    expect(exitCodeOf(brokerDown())).toBe(5)
    expect(exitCodeOf(new InvalidFlagError({ flag: '--limit', value: 'x', expected: 'a number' }))).toBe(2)
    expect(exitCodeOf(new TransientError('socket closed'))).toBe(1)
    expect(exitCodeOf(new Error('boom'))).toBe(1)
    expect(exitCodeOf('a string')).toBe(1)
    expect(exitCodeOf(undefined)).toBe(1)
  })

  it('a bad broker url is the config refused (3), though the class lives with the broker errors', () => {
    expect(exitCodeOf(new BrokerUrlError({ url: 'localhost:1883', cause: new Error('no protocol') }))).toBe(3)
  })

  it('walks the cause chain: the first link with a family decides', () => {
    const wrapped = new Error('engine start-up failed', { cause: new PbjError('x', { cause: brokerDown() }) })
    expect(exitCodeOf(wrapped)).toBe(5)
    const configOverBroker = new UnknownContractError({ name: 'L', where: 'w', known: [] })
    Object.defineProperty(configOverBroker, 'cause', { value: brokerDown() })
    expect(exitCodeOf(configOverBroker)).toBe(3)
  })

  it('the store refusals are 4, by family (StoreRefusedError and its members), through causes too', () => {
    const locked = new StoreLockedError({ database: '/x/pbj.db', lockFile: '/x/pbj.db.lock', pid: 1 })
    expect(exitCodeOf(locked)).toBe(4)
    expect(exitCodeOf(new WalMissingError({ database: '/x/pbj.db', frames: 3 }))).toBe(4)
    expect(exitCodeOf(new DatabaseCorruptError({ database: '/x/pbj.db', problem: 'page 3' }))).toBe(4)
    expect(exitCodeOf(new Error('open failed', { cause: locked }))).toBe(4)
    // A full disk is waited out, not a refusal.
    expect(exitCodeOf(new DiskFullError({ dir: '/x' }))).toBe(1)
  })

  it("better-sqlite3's refusal of a file that is not a database is the store refused (4)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbj-exit-codes-'))
    try {
      const file = join(dir, 'pbj.db')
      writeFileSync(file, 'this is a text file, not a database\n'.repeat(200))
      let thrown: unknown
      try {
        new Database(file).pragma('journal_mode = WAL')
      } catch (error) {
        thrown = error
      }
      expect((thrown as { code?: string }).code).toBe('SQLITE_NOTADB')
      expect(exitCodeOf(thrown)).toBe(4)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
