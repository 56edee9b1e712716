import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import type { BlockWrite } from '../../core/blockWrite.js'
import type { Run } from '../../core/run.js'
import { createSqliteStore } from './createSqliteStore.js'
import { CorruptRowError } from './errors.js'

const block = (n: bigint): BlockWrite['block'] => ({
  number: n,
  hash: `0x${n.toString(16).padStart(64, '0')}`,
  parentHash: `0x${(n - 1n).toString(16).padStart(64, '0')}`,
  timestamp: 1_000n + n,
})

const write = (n: bigint, extra: Partial<BlockWrite> = {}): BlockWrite => ({
  block: block(n),
  jobs: [],
  timersSet: [],
  timersCleared: [],
  conditions: [],
  ...extra,
})

/** A first attempt that ended ok at `endedAt`, having started 5 ms before. */
const endedRun = (id: string, jobId: string, functionName: string, endedAt: number): Run => ({
  id,
  jobId,
  functionName,
  attempt: 1,
  status: 'ok',
  startedAt: endedAt - 5,
  endedAt,
  durationMs: 5,
  logs: [],
  error: null,
})

describe('createSqliteStore', () => {
  it('commits a block: jobs, timers and cursor together, and survives a reopen', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-store-')), 'pbj.db')
    const store = createSqliteStore({ path })
    const job = {
      id: 'j1',
      functionName: 'lock',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: 5n,
      blockHash: block(5n).hash,
      readyAt: 5n,
    }
    await store.commitBlock(
      1,
      write(5n, { jobs: [job], timersSet: [{ id: 'lock:1', functionName: 'lock', key: '1', at: 2_000n }] }),
    )
    await store.close()

    const again = createSqliteStore({ path })
    expect(await again.getCursor(1)).toEqual(block(5n))
    expect((await again.unfinishedJobs()).map((j) => j.id)).toEqual(['j1'])
    expect(await again.dueTimers(1_999n)).toEqual([])
    expect((await again.dueTimers(2_000n)).map((t) => t.id)).toEqual(['lock:1'])
    await again.close()
  })

  it('does not duplicate a job whose block is committed twice', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const job = {
      id: 'j1',
      functionName: 'lock',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: 5n,
      blockHash: block(5n).hash,
      readyAt: 5n,
    }
    await store.commitBlock(1, write(5n, { jobs: [job] }))
    // A run that made no ctx call: started and ended in one write.
    expect(await store.finishRun(endedRun('r1', 'j1', 'lock', Date.now()), { status: 'done' }, false)).toBe(
      true,
    )
    await store.commitBlock(1, write(5n, { jobs: [job] }))
    expect(await store.unfinishedJobs()).toEqual([])
    expect((await store.getJob('j1'))?.status).toBe('done')
  })

  it('counts the devices behind their desired state, and since when the oldest is', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    expect(await store.deviceDrift()).toEqual({ devices: 0, oldestDesiredAt: null })
    await store.setDesired('0xcar', { locked: true }, 'c1', 1_000)
    await store.setDesired('0xvan', { locked: true }, 'c2', 2_000)
    expect(await store.deviceDrift()).toEqual({ devices: 2, oldestDesiredAt: 1_000 })
    // The car reports an older version than desired: still drifting.
    await store.setDesired('0xcar', { locked: false }, 'c3', 3_000)
    await store.recordReported('0xcar', { locked: true }, 1, 3_100)
    expect(await store.deviceDrift()).toEqual({ devices: 2, oldestDesiredAt: 2_000 })
    await store.recordReported('0xvan', { locked: true }, 1, 3_200)
    expect(await store.deviceDrift()).toEqual({ devices: 1, oldestDesiredAt: 3_000 })
    await store.recordReported('0xcar', { locked: false }, 2, 3_300)
    expect(await store.deviceDrift()).toEqual({ devices: 0, oldestDesiredAt: null })
    await store.close()
  })

  it('gives a device command one version forever, and ignores a repeated state', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const lock = { locked: true, reason: 'missed-payment' }
    expect(await store.setDesired('0xcar', lock, 'c1', 1)).toEqual({
      version: 1,
      changed: true,
      commandId: 'c1',
    })
    expect(await store.setDesired('0xcar', lock, 'c1', 2)).toEqual({
      version: 1,
      changed: false,
      commandId: 'c1',
    })
    expect(await store.setDesired('0xcar', lock, 'c2', 3)).toEqual({
      version: 1,
      changed: false,
      commandId: 'c1',
    })
    expect(await store.setDesired('0xcar', { locked: false }, 'c3', 4)).toMatchObject({
      version: 2,
      changed: true,
    })
    await store.recordReported('0xcar', { locked: false }, 2, 5)
    await store.recordReported('0xcar', { locked: true }, 1, 6) // a late, older report must not win
    expect(await store.getDevice('0xcar')).toMatchObject({
      desiredVersion: 2,
      reportedVersion: 2,
      reported: { locked: false },
    })
  })

  it('lists runs with their error and logs', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const job = {
      id: 'j',
      functionName: 'f',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: 5n,
      blockHash: block(5n).hash,
      readyAt: 5n,
    }
    await store.commitBlock(1, write(5n, { jobs: [job] }))
    const id = 'r1'
    expect(await store.startRun({ id: 'j', attempts: 0 }, id, 10)).toBe(1)
    // In progress: listed off the job's row until it ends.
    expect(await store.listRuns({ status: 'running' })).toEqual([
      expect.objectContaining({
        id,
        jobId: 'j',
        functionName: 'f',
        attempt: 1,
        startedAt: 10,
        endedAt: null,
      }),
    ])
    expect(await store.getRun(id)).toMatchObject({ status: 'running', jobId: 'j' })
    const error = { name: 'FunctionRunError', reason: 'timeout', message: 'too slow' }
    await store.finishRun(
      {
        ...endedRun(id, 'j', 'f', 25),
        startedAt: 10,
        status: 'failed',
        logs: [{ level: 'info', message: 'hi', at: 11 }],
        error,
      },
      { status: 'failed', lastError: 'too slow' },
      true,
    )
    const [run] = await store.listRuns({ status: 'failed' })
    expect(run).toMatchObject({ functionName: 'f', durationMs: 15, error, logs: [{ message: 'hi' }] })
    expect(await store.listRuns({ status: 'running' })).toEqual([])
    expect(await store.getJob('j')).toMatchObject({ status: 'failed', lastError: 'too slow', attempts: 1 })
  })

  it('records a run a crash cut short when its job starts again, and counts both attempts', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-store-')), 'pbj.db')
    const job = {
      id: 'j',
      functionName: 'f',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: 5n,
      blockHash: block(5n).hash,
      readyAt: 5n,
    }
    const before = createSqliteStore({ path })
    await before.commitBlock(1, write(5n, { jobs: [job] }))
    const first = { runId: 'r1', attempt: await before.startRun({ id: 'j', attempts: 0 }, 'r1', 10) }
    expect(first.attempt).toBe(1)
    await before.close() // the engine stops with the run going

    const after = createSqliteStore({ path })
    expect((await after.unfinishedJobs()).map((j) => [j.id, j.status])).toEqual([['j', 'running']])
    const second = { runId: 'r2', attempt: await after.startRun({ id: 'j', attempts: 1 }, 'r2', 20) }
    expect(second.attempt).toBe(2)
    // The cut-short run stays on record as the engine left it; the new one is in progress.
    expect(await after.getRun(first.runId)).toMatchObject({ status: 'running', attempt: 1, startedAt: 10 })
    expect((await after.listRuns({ status: 'running' })).map((r) => [r.id, r.attempt])).toEqual([
      [second.runId, 2],
      [first.runId, 1],
    ])
    await after.finishRun(
      { ...endedRun(second.runId, 'j', 'f', 30), attempt: 2, startedAt: 20 },
      { status: 'done' },
      true,
    )
    expect((await after.listRuns()).map((r) => [r.id, r.status])).toEqual([
      [second.runId, 'ok'],
      [first.runId, 'running'],
    ])
    expect(await after.getJob('j')).toMatchObject({ status: 'done', attempts: 2 })
    await after.close()
  })

  it('starts a run that made no ctx call in the write that ends it, on the same conditions as startRun', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-store-')), 'pbj.db')
    const job = (id: string) => ({
      id,
      functionName: 'f',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: 5n,
      blockHash: block(5n).hash,
      readyAt: 5n,
    })
    const before = createSqliteStore({ path })
    await before.commitBlock(1, write(5n, { jobs: [job('ok'), job('retry'), job('crashed')] }))
    // A failed attempt that goes back to pending with its retry time: the attempt is counted all the same.
    const failed = { ...endedRun('r-retry', 'retry', 'f', 30), status: 'failed' as const }
    expect(await before.finishRun(failed, { status: 'pending', runAfter: 99, lastError: 'x' }, false)).toBe(
      true,
    )
    expect(await before.getJob('retry')).toMatchObject({ status: 'pending', attempts: 1, runAfter: 99 })
    // Run again from a job object read before that attempt (attempts 0): the store's own count is recorded.
    expect(await before.finishRun(endedRun('r-retry2', 'retry', 'f', 35), { status: 'done' }, false)).toBe(
      true,
    )
    expect(await before.getJob('retry')).toMatchObject({ status: 'done', attempts: 2 })
    expect(await before.getRun('r-retry2')).toMatchObject({ status: 'ok', attempt: 2 })
    expect(await before.startRun({ id: 'crashed', attempts: 0 }, 'r-cut', 10)).toBe(1)
    await before.close() // the engine stops during r-cut

    const after = createSqliteStore({ path })
    expect(await after.finishRun(endedRun('r-ok', 'ok', 'f', 40), { status: 'done' }, false)).toBe(true)
    expect(await after.getJob('ok')).toMatchObject({ status: 'done', attempts: 1 })
    // The crashed job's next run makes no ctx call: the cut-short run is recorded, this one counted second.
    expect(await after.finishRun(endedRun('r-again', 'crashed', 'f', 50), { status: 'done' }, false)).toBe(
      true,
    )
    expect(await after.getJob('crashed')).toMatchObject({ status: 'done', attempts: 2 })
    expect(await after.getRun('r-cut')).toMatchObject({ status: 'running', attempt: 1 })
    expect(await after.getRun('r-again')).toMatchObject({ status: 'ok', attempt: 2 })
    // A job that ended meanwhile (here: ran twice) is not started again: nothing is recorded.
    expect(await after.finishRun(endedRun('r-twice', 'ok', 'f', 60), { status: 'done' }, false)).toBe(false)
    expect(await after.startRun({ id: 'ok', attempts: 0 }, 'r-thrice', 70)).toBeNull()
    expect(await after.getRun('r-twice')).toBeNull()
    expect(await after.getJob('ok')).toMatchObject({ status: 'done', attempts: 1 })
    await after.close()
  })
  it('rolls back a reorg: timers and conditions restored, unstarted jobs orphaned, started ones compensated', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const t = (id: string, at: bigint) => ({ id, functionName: 'lock', key: id, at })
    const job = (id: string, n: bigint) => ({
      id,
      functionName: 'lock',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: n,
      blockHash: block(n).hash,
      readyAt: n,
    })
    await store.commitBlock(
      1,
      write(10n, { timersSet: [t('a', 100n)], conditions: [{ id: 'c', value: false }] }),
    )
    await store.commitBlock(
      1,
      write(11n, {
        jobs: [job('ran', 11n)],
        timersSet: [t('a', 200n), t('b', 50n)],
        conditions: [{ id: 'c', value: true }],
      }),
    )
    await store.commitBlock(
      1,
      write(12n, {
        jobs: [job('queued', 12n), { ...job('waiting', 12n), readyAt: 15n }],
        timersCleared: ['a'],
      }),
    )
    expect(await store.startRun({ id: 'ran', attempts: 0 }, 'r-ran', 1)).not.toBeNull()

    expect((await store.jobsAbove(10n)).map((j) => [j.id, j.status])).toEqual([
      ['ran', 'running'],
      ['queued', 'pending'],
      ['waiting', 'waiting'],
    ])
    const compensation = { ...job('ran:reorg', 11n), entry: 'onReorg' as const }
    expect(await store.rollback(1, block(10n), [compensation])).toEqual({ orphaned: 2 })

    expect(await store.getCursor(1)).toEqual(block(10n))
    expect(await store.getTimer('a')).toMatchObject({ at: 100n })
    expect(await store.getTimer('b')).toBeNull()
    expect((await store.getConditions(['c'])).get('c')).toBe(false)
    expect(await store.getBlockHash(1, 11n)).toBeNull()
    expect(await store.startRun({ id: 'queued', attempts: 0 }, 'r-queued', 2)).toBeNull()
    // Nor does a run of it that made no ctx call get recorded when it ends.
    expect(await store.finishRun(endedRun('r-q', 'queued', 'lock', 3), { status: 'done' }, false)).toBe(false)
    expect((await store.getJob('queued'))?.status).toBe('orphaned')
    expect((await store.getJob('waiting'))?.status).toBe('orphaned')
    expect((await store.unfinishedJobs()).map((j) => j.id).sort()).toEqual(['ran', 'ran:reorg'])
  })

  it('holds a job until its confirmations are reached', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const waiting = {
      id: 'w',
      functionName: 'f',
      entry: 'handler' as const,
      input: '{}',
      blockNumber: 5n,
      blockHash: block(5n).hash,
      readyAt: 8n,
    }
    const final = { ...waiting, id: 'f', readyAt: null }
    await store.commitBlock(1, write(5n, { jobs: [waiting, final] }))
    expect(await store.unfinishedJobs()).toEqual([])
    expect(await store.releaseJobs(7n, null)).toEqual([])
    expect((await store.releaseJobs(8n, 4n)).map((j) => j.id)).toEqual(['w'])
    expect((await store.releaseJobs(9n, 5n)).map((j) => j.id)).toEqual(['f'])
    expect(await store.releaseJobs(10n, 6n)).toEqual([])
  })

  it('rolls back blocks that set more timers than one statement takes, each to its value before', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const t = (i: number, at: bigint) => ({ id: `f:${i}`, functionName: 'f', key: String(i), at })
    const range = (n: number) => Array.from({ length: n }, (_, i) => i)
    await store.commitBlock(1, write(10n, { timersSet: range(1_500).map((i) => t(i, 100n)) }))
    // 2,470 timers: 1,490 overwritten, 980 new (statements of 1,024, 1,024, 256, 128, 32, 4 and 2 rows), and
    // 10 of the old cleared.
    await store.commitBlock(
      1,
      write(11n, {
        timersSet: range(2_480)
          .filter((i) => i >= 10)
          .map((i) => t(i, 200n)),
        timersCleared: range(10).map((i) => `f:${i}`),
      }),
    )
    expect(await store.getTimer('f:0')).toBeNull()
    for (const i of [10, 1_023, 1_024, 2_047, 2_048, 2_479])
      expect(await store.getTimer(`f:${i}`)).toMatchObject({ at: 200n })
    expect(await store.dueTimers(150n)).toHaveLength(0)
    await store.rollback(1, block(10n), [])
    for (const i of [0, 9, 10, 63, 64, 1_023, 1_024, 1_499])
      expect(await store.getTimer(`f:${i}`)).toMatchObject({ at: 100n })
    for (const i of [1_500, 2_048, 2_479]) expect(await store.getTimer(`f:${i}`)).toBeNull()
    expect(await store.dueTimers(1_000n)).toHaveLength(1_500)
    await store.close()
  })

  it('keeps no undo record nor hash of a settled block, and still rolls back the blocks after it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-store-')), 'pbj.db')
    const store = createSqliteStore({ path })
    const t = (id: string, at: bigint) => ({ id, functionName: 'f', key: id, at })
    await store.commitBlock(
      1,
      write(10n, {
        timersSet: [t('a', 100n), t('b', 100n)],
        conditions: [{ id: 'c', value: true }],
        undo: false,
      }),
    )
    // Re-armed in place (an upsert, not a delete and insert) by a block within the window.
    await store.commitBlock(1, write(11n, { timersSet: [t('a', 300n)], timersCleared: ['b'] }))
    expect(await store.getTimer('a')).toMatchObject({ at: 300n })
    // No hash either: a reorg reaching block 10 finds no common block there and is handled as a deep one.
    expect(await store.getBlockHash(1, 10n)).toBeNull()
    expect(await store.getBlockHash(1, 11n)).toBe(block(11n).hash)
    await store.rollback(1, block(10n), [])
    expect(await store.getTimer('a')).toMatchObject({ at: 100n })
    expect(await store.getTimer('b')).toMatchObject({ at: 100n })
    await store.close()
    const db = new Database(path, { readonly: true })
    expect(db.prepare('SELECT COUNT(*) AS n FROM block_undo WHERE number = 10').get()).toEqual({ n: 0 })
    db.close()
  })

  it('rolls back the per-timer undo records of files written before the one-record-per-block form', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-store-')), 'pbj.db')
    const store = createSqliteStore({ path })
    await store.commitBlock(
      1,
      write(10n, { timersSet: [{ id: 'a', functionName: 'lock', key: 'a', at: 100n }] }),
    )
    await store.commitBlock(
      1,
      write(11n, {
        timersSet: [
          { id: 'a', functionName: 'lock', key: 'a', at: 200n },
          { id: 'b', functionName: 'lock', key: 'b', at: 50n },
        ],
      }),
    )
    await store.close()
    // Block 11's undo as an older pbj wrote it: one 'timer' row per timer, `at` as a decimal string.
    const db = new Database(path)
    db.prepare('DELETE FROM block_undo WHERE number = 11').run()
    const undo = db.prepare(
      "INSERT INTO block_undo (chain_id, number, seq, kind, id, previous) VALUES (1, 11, ?, 'timer', ?, ?)",
    )
    undo.run(0, 'a', JSON.stringify({ id: 'a', functionName: 'lock', key: 'a', at: '100' }))
    undo.run(1, 'b', null)
    db.close()

    const again = createSqliteStore({ path })
    await again.rollback(1, block(10n), [])
    expect(await again.getTimer('a')).toEqual({ id: 'a', functionName: 'lock', key: 'a', at: 100n })
    expect(await again.getTimer('b')).toBeNull()
    await again.close()
  })

  it('names the column when a JSON value read back is not what pbj wrote', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pbj-store-')), 'pbj.db')
    const store = createSqliteStore({ path })
    await store.setDesired('0xcar', { locked: true }, 'job-1:0', 5)
    await store.setDesired('0xvan', { locked: true }, 'job-2:0', 5)
    await store.close()
    const db = new Database(path)
    db.prepare("UPDATE devices SET desired = '{\"locked\":' WHERE device_id = '0xcar'").run()
    db.prepare('UPDATE devices SET desired = \'{"locked":"yes"}\' WHERE device_id = \'0xvan\'').run()
    db.close()

    const again = createSqliteStore({ path })
    for (const deviceId of ['0xcar', '0xvan']) {
      const error = await again.getDevice(deviceId).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CorruptRowError)
      expect(error).toMatchObject({ meta: { column: 'devices.desired' } })
    }
    await again.close()
  })
})
