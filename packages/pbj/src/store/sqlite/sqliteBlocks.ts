import type { Database, Statement } from 'better-sqlite3'
import type { Hex } from 'viem'
import { z } from 'zod'
import type { Cursor } from '../../core/block.js'
import type { BlockWrite } from '../../core/blockWrite.js'
import type { NewJob } from '../../core/job.js'
import type { Store } from '../../core/store.js'
import type { Timer } from '../../core/timer.js'
import { readJson } from './internal/readJson.js'
import { type CursorRow, type JobRow, type TimerRow, toCursor, toJob } from './rows.js'

/** How many recent blocks (hashes and undo records) are kept for reorg checks. */
export const BLOCK_WINDOW = 256

/**
 * Most timer rows one statement upserts or reads. Rows per statement cost more than the rows themselves: a
 * catch-up block's 4,000 timers committed in 1.3–1.5 µs less CPU per row with statements of 256 or 1,024
 * rows than of 64 (bench/growth/commitBlockCpu.ts, settled blocks ~5.5 → ~3.3 µs per row). 1,024 rows are
 * 4,096 parameters, under SQLite's 32,766.
 */
const TIMER_BATCH = 1_024
const timerValues = (n: number) => Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ')

/**
 * Splits `count` rows into statement sizes: as many TIMER_BATCH as fit, then the rest in powers of two
 * (896 → 512, 256, 128), so a handful of prepared statements (one per power of two) serve any count without
 * padding or a statement per row.
 */
function* chunkSizes(count: number): Generator<number> {
  let left = count
  for (; left >= TIMER_BATCH; left -= TIMER_BATCH) yield TIMER_BATCH
  for (let size = TIMER_BATCH / 2; size >= 1; size /= 2)
    if (left >= size) {
      yield size
      left -= size
    }
}

/**
 * Re-arming a timer updates its row in place: INSERT OR REPLACE deleted it and inserted it again, in the table
 * and both its indexes (a catch-up re-arms every loan's timers at each payment).
 */
const upsert =
  ' ON CONFLICT (id) DO UPDATE SET function_name = excluded.function_name, key = excluded.key, at = excluded.at'

/** A timer's state before a block, as one block's undo record keeps it: null when it did not exist. */
type TimerBefore = [id: string, previous: [functionName: string, key: string, at: string] | null]

/** A `block_undo` row: `previous` is JSON, its shape set by `kind`. */
type UndoRow = { kind: 'timers' | 'timer' | 'condition'; id: string; previous: string | null }

/** What each kind of undo record keeps (`timer`: one row per timer, as files before `timers` have it). */
const undoSchemas = {
  timers: z.array(
    z.tuple([z.string(), z.tuple([z.string(), z.string(), z.string()]).nullable()]),
  ) satisfies z.ZodType<TimerBefore[]>,
  timer: z
    .object({
      id: z.string(),
      functionName: z.string(),
      key: z.string(),
      at: z.union([z.string(), z.number()]),
    })
    .nullable(),
  condition: z.number().nullable(),
}

/** A block's columns as bound (cursor and blocks), and a timer's. */
type BlockParams = [chainId: number, number: bigint, hash: Hex, parentHash: Hex, timestamp: bigint]
type TimerParams = [id: string, functionName: string, key: string, at: bigint]

/**
 * Blocks on SQLite: each block's jobs, timers, conditions and cursor commit in one transaction, with an
 * undo record of what the timers and conditions were before, so a reorg can put them back exactly.
 *
 * @example
 * const blocks = sqliteBlocks(db) // db already migrated (see migrate): table modules create no tables
 * await blocks.commitBlock(31337, write)
 */
export function sqliteBlocks(
  db: Database,
): Pick<Store, 'getCursor' | 'commitBlock' | 'getBlockHash' | 'jobsAbove' | 'rollback'> {
  const q = {
    getCursor: db.prepare<[number], CursorRow>('SELECT * FROM cursor WHERE chain_id = ?'),
    setCursor: db.prepare<BlockParams>(
      `INSERT INTO cursor (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (chain_id) DO UPDATE SET number = excluded.number, hash = excluded.hash,
       parent_hash = excluded.parent_hash, timestamp = excluded.timestamp`,
    ),
    putBlock: db.prepare<BlockParams>(
      'INSERT OR REPLACE INTO blocks (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)',
    ),
    getBlock: db.prepare<[number, bigint], { hash: string }>(
      'SELECT hash FROM blocks WHERE chain_id = ? AND number = ?',
    ),
    pruneBlocks: db.prepare<[number, bigint]>('DELETE FROM blocks WHERE chain_id = ? AND number < ?'),
    pruneUndo: db.prepare<[number, bigint]>('DELETE FROM block_undo WHERE chain_id = ? AND number < ?'),
    insertJob: db.prepare<
      [string, string, NewJob['entry'], string, bigint, Hex, bigint | null, 'pending' | 'waiting', number]
    >(
      `INSERT OR IGNORE INTO jobs (id, function_name, entry, input, block_number, block_hash, ready_at, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setTimer: db.prepare<TimerParams>(
      `INSERT INTO timers (id, function_name, key, at) VALUES (?, ?, ?, ?)${upsert}`,
    ),
    clearTimer: db.prepare<[string]>('DELETE FROM timers WHERE id = ?'),
    getCondition: db.prepare<[string], { value: number }>('SELECT value FROM conditions WHERE id = ?'),
    setCondition: db.prepare<[string, number]>('INSERT OR REPLACE INTO conditions (id, value) VALUES (?, ?)'),
    clearCondition: db.prepare<[string]>('DELETE FROM conditions WHERE id = ?'),
    addUndo: db.prepare<[number, bigint, number, UndoRow['kind'], string, string | null]>(
      'INSERT INTO block_undo (chain_id, number, seq, kind, id, previous) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    undoAbove: db.prepare<[number, bigint], UndoRow>(
      'SELECT * FROM block_undo WHERE chain_id = ? AND number > ? ORDER BY number DESC, seq DESC',
    ),
    dropUndoAbove: db.prepare<[number, bigint]>('DELETE FROM block_undo WHERE chain_id = ? AND number > ?'),
    dropBlocksAbove: db.prepare<[number, bigint]>('DELETE FROM blocks WHERE chain_id = ? AND number > ?'),
    jobsAbove: db.prepare<[bigint], JobRow>(
      "SELECT * FROM jobs WHERE block_number > ? AND status != 'orphaned' ORDER BY block_number, id",
    ),
    orphan: db.prepare<[bigint]>(
      "UPDATE jobs SET status = 'orphaned' WHERE block_number > ? AND status IN ('waiting', 'pending', 'held') AND entry = 'handler'",
    ),
  }

  const insertJobs = (jobs: NewJob[], now: number) => {
    for (const j of jobs) {
      const status = j.readyAt !== null && j.readyAt <= j.blockNumber ? 'pending' : 'waiting'
      q.insertJob.run(
        j.id,
        j.functionName,
        j.entry,
        j.input,
        j.blockNumber,
        j.blockHash,
        j.readyAt,
        status,
        now,
      )
    }
  }

  // Prepared on first use, one per statement size chunkSizes gives (powers of two up to TIMER_BATCH).
  const setTimersOf = new Map<number, Statement<[values: TimerParams[number][]]>>()
  const getTimersOf = new Map<number, Statement<[ids: string[]], TimerRow>>()
  const statementOf = <S>(cache: Map<number, S>, size: number, make: (size: number) => S): S => {
    const found = cache.get(size)
    if (found) return found
    const made = make(size)
    cache.set(size, made)
    return made
  }

  /** Upserts timers, up to TIMER_BATCH rows per statement (catch-up sets hundreds of thousands). */
  const setTimers = (timers: readonly Timer[]) => {
    let i = 0
    for (const size of chunkSizes(timers.length)) {
      const values: TimerParams[number][] = []
      for (const t of timers.slice(i, i + size)) values.push(t.id, t.functionName, t.key, t.at)
      i += size
      statementOf(setTimersOf, size, (n) =>
        db.prepare<[values: TimerParams[number][]]>(
          `INSERT INTO timers (id, function_name, key, at) VALUES ${timerValues(n)}${upsert}`,
        ),
      ).run(values)
    }
  }

  /** The rows of the timers `ids` that exist, up to TIMER_BATCH ids per statement. */
  const getTimers = (ids: readonly string[]) => {
    const found = new Map<string, TimerRow>()
    let i = 0
    for (const size of chunkSizes(ids.length)) {
      const chunk = ids.slice(i, i + size)
      i += size
      const statement = statementOf(getTimersOf, size, (n) =>
        db.prepare<[ids: string[]], TimerRow>(
          `SELECT id, function_name, key, at FROM timers WHERE id IN (${Array(n).fill('?').join(', ')})`,
        ),
      )
      for (const row of statement.all(chunk)) found.set(row.id, row)
    }
    return found
  }

  const commit = db.transaction((chainId: number, write: BlockWrite) => {
    const { block } = write
    let seq = 0
    const undo = (kind: UndoRow['kind'], id: string, previous: unknown) =>
      q.addUndo.run(
        chainId,
        block.number,
        seq++,
        kind,
        id,
        previous === undefined ? null : JSON.stringify(previous),
      )
    insertJobs(write.jobs, Date.now())
    // One undo record for all the block's timers (kind 'timers'), not one row each: reading a timer is cheap,
    // inserting a row is not, and a block of a catch-up can set thousands. None for a settled block.
    const ids =
      write.undo === false ? [] : [...new Set([...write.timersCleared, ...write.timersSet.map((t) => t.id)])]
    const found = getTimers(ids)
    const before: TimerBefore[] = ids.map((id) => {
      const row = found.get(id)
      return [id, row ? [row.function_name, row.key, String(row.at)] : null]
    })
    if (before.length > 0) undo('timers', '', before)
    for (const id of write.timersCleared) q.clearTimer.run(id)
    setTimers(write.timersSet)
    for (const c of write.conditions) {
      if (write.undo !== false) undo('condition', c.id, q.getCondition.get(c.id)?.value)
      q.setCondition.run(c.id, c.value ? 1 : 0)
    }
    // Nor is a settled block's hash kept: a reorg that reaches it then finds no common block there and is
    // handled as a deep one (rolled back exactly down to the newest block with undo records, what the
    // settled blocks did stays done), instead of rolling back blocks whose undo was never written.
    if (write.undo !== false)
      q.putBlock.run(chainId, block.number, block.hash, block.parentHash, block.timestamp)
    q.pruneBlocks.run(chainId, block.number - BigInt(BLOCK_WINDOW))
    q.pruneUndo.run(chainId, block.number - BigInt(BLOCK_WINDOW))
    q.setCursor.run(chainId, block.number, block.hash, block.parentHash, block.timestamp)
  })

  const rollback = db.transaction((chainId: number, ancestor: Cursor, compensations: NewJob[]) => {
    // Newest change first, so each id ends at the value it had before the first removed block.
    for (const u of q.undoAbove.all(chainId, ancestor.number)) {
      const column = `block_undo.previous (${u.kind})`
      if (u.kind === 'timers') {
        for (const [id, was] of readJson(undoSchemas.timers, u.previous ?? '[]', column)) {
          if (was) q.setTimer.run(id, was[0], was[1], BigInt(was[2]))
          else q.clearTimer.run(id)
        }
      } else if (u.kind === 'timer') {
        // One row per timer: how files written before the 'timers' record keep their undo.
        const previous = u.previous === null ? null : readJson(undoSchemas.timer, u.previous, column)
        if (previous) q.setTimer.run(previous.id, previous.functionName, previous.key, BigInt(previous.at))
        else q.clearTimer.run(u.id)
      } else {
        const previous = u.previous === null ? null : readJson(undoSchemas.condition, u.previous, column)
        if (previous === null) q.clearCondition.run(u.id)
        else q.setCondition.run(u.id, previous)
      }
    }
    q.dropUndoAbove.run(chainId, ancestor.number)
    q.dropBlocksAbove.run(chainId, ancestor.number)
    const { changes } = q.orphan.run(ancestor.number)
    insertJobs(compensations, Date.now())
    q.setCursor.run(chainId, ancestor.number, ancestor.hash, ancestor.parentHash, ancestor.timestamp)
    return { orphaned: changes }
  })

  return {
    async getCursor(chainId) {
      const row = q.getCursor.get(chainId)
      return row ? toCursor(row) : null
    },
    async commitBlock(chainId, write) {
      commit(chainId, write)
    },
    async getBlockHash(chainId, number) {
      return q.getBlock.get(chainId, number)?.hash ?? null
    },
    async jobsAbove(number) {
      return q.jobsAbove.all(number).map(toJob)
    },
    async rollback(chainId, ancestor, compensations) {
      return rollback(chainId, ancestor, compensations)
    },
  }
}
