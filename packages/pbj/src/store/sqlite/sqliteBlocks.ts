import type { Database } from 'better-sqlite3'
import type { BlockWrite, Cursor, NewJob, Store } from '../types.js'
import { toCursor, toJob, toTimer } from './rows.js'

/** How many recent blocks (hashes and undo records) are kept for reorg checks. */
export const BLOCK_WINDOW = 256

type Row = Record<string, unknown>

/**
 * Blocks on SQLite: each block's jobs, timers, conditions and cursor commit in one transaction, with an
 * undo record of what the timers and conditions were before, so a reorg can put them back exactly.
 *
 * @example
 * const blocks = sqliteBlocks(db)
 * await blocks.commitBlock(31337, write)
 */
export function sqliteBlocks(
  db: Database,
): Pick<Store, 'getCursor' | 'commitBlock' | 'getBlockHash' | 'jobsAbove' | 'rollback'> {
  const q = {
    getCursor: db.prepare('SELECT * FROM cursor WHERE chain_id = ?'),
    setCursor: db.prepare(
      `INSERT INTO cursor (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (chain_id) DO UPDATE SET number = excluded.number, hash = excluded.hash,
       parent_hash = excluded.parent_hash, timestamp = excluded.timestamp`,
    ),
    putBlock: db.prepare(
      'INSERT OR REPLACE INTO blocks (chain_id, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)',
    ),
    getBlock: db.prepare('SELECT hash FROM blocks WHERE chain_id = ? AND number = ?'),
    pruneBlocks: db.prepare('DELETE FROM blocks WHERE chain_id = ? AND number < ?'),
    pruneUndo: db.prepare('DELETE FROM block_undo WHERE chain_id = ? AND number < ?'),
    insertJob: db.prepare(
      `INSERT OR IGNORE INTO jobs (id, function_name, entry, input, block_number, block_hash, ready_at, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getTimer: db.prepare('SELECT * FROM timers WHERE id = ?'),
    setTimer: db.prepare('INSERT OR REPLACE INTO timers (id, function_name, key, at) VALUES (?, ?, ?, ?)'),
    clearTimer: db.prepare('DELETE FROM timers WHERE id = ?'),
    getCondition: db.prepare('SELECT value FROM conditions WHERE id = ?'),
    setCondition: db.prepare('INSERT OR REPLACE INTO conditions (id, value) VALUES (?, ?)'),
    clearCondition: db.prepare('DELETE FROM conditions WHERE id = ?'),
    addUndo: db.prepare(
      'INSERT INTO block_undo (chain_id, number, seq, kind, id, previous) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    undoAbove: db.prepare(
      'SELECT * FROM block_undo WHERE chain_id = ? AND number > ? ORDER BY number DESC, seq DESC',
    ),
    dropUndoAbove: db.prepare('DELETE FROM block_undo WHERE chain_id = ? AND number > ?'),
    dropBlocksAbove: db.prepare('DELETE FROM blocks WHERE chain_id = ? AND number > ?'),
    jobsAbove: db.prepare(
      "SELECT * FROM jobs WHERE block_number > ? AND status != 'orphaned' ORDER BY block_number, id",
    ),
    orphan: db.prepare(
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

  const commit = db.transaction((chainId: number, write: BlockWrite) => {
    const { block } = write
    let seq = 0
    const undo = (kind: string, id: string, previous: unknown) =>
      q.addUndo.run(
        chainId,
        block.number,
        seq++,
        kind,
        id,
        previous === undefined ? null : JSON.stringify(previous),
      )
    insertJobs(write.jobs, Date.now())
    for (const id of [...write.timersCleared, ...write.timersSet.map((t) => t.id)]) {
      const row = q.getTimer.get(id) as Row | undefined
      undo('timer', id, row ? { ...toTimer(row), at: String(toTimer(row).at) } : undefined)
    }
    for (const id of write.timersCleared) q.clearTimer.run(id)
    for (const t of write.timersSet) q.setTimer.run(t.id, t.functionName, t.key, t.at)
    for (const c of write.conditions) {
      undo('condition', c.id, (q.getCondition.get(c.id) as { value: number } | undefined)?.value)
      q.setCondition.run(c.id, c.value ? 1 : 0)
    }
    q.putBlock.run(chainId, block.number, block.hash, block.parentHash, block.timestamp)
    q.pruneBlocks.run(chainId, block.number - BigInt(BLOCK_WINDOW))
    q.pruneUndo.run(chainId, block.number - BigInt(BLOCK_WINDOW))
    q.setCursor.run(chainId, block.number, block.hash, block.parentHash, block.timestamp)
  })

  const rollback = db.transaction((chainId: number, ancestor: Cursor, compensations: NewJob[]) => {
    // Newest change first, so each id ends at the value it had before the first removed block.
    for (const u of q.undoAbove.all(chainId, ancestor.number) as Row[]) {
      const previous = u.previous == null ? null : JSON.parse(u.previous as string)
      if (u.kind === 'timer') {
        if (previous) q.setTimer.run(previous.id, previous.functionName, previous.key, BigInt(previous.at))
        else q.clearTimer.run(u.id)
      } else if (previous === null) q.clearCondition.run(u.id)
      else q.setCondition.run(u.id, previous)
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
      const row = q.getCursor.get(chainId) as Row | undefined
      return row ? toCursor(row) : null
    },
    async commitBlock(chainId, write) {
      commit(chainId, write)
    },
    async getBlockHash(chainId, number) {
      return (q.getBlock.get(chainId, number) as { hash: string } | undefined)?.hash ?? null
    },
    async jobsAbove(number) {
      return (q.jobsAbove.all(number) as Row[]).map(toJob)
    },
    async rollback(chainId, ancestor, compensations) {
      return rollback(chainId, ancestor, compensations)
    },
  }
}
