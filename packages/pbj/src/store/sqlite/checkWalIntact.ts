import { closeSync, existsSync, openSync, readSync } from 'node:fs'
import { endianness } from 'node:os'
import { WalMissingError } from '../../internal/errors.js'

/**
 * Refuses a database whose write-ahead log was deleted while it still held transactions, before SQLite
 * opens it (SQLite would create an empty log and lose them without a word). The signal is the
 * shared-memory index `<db>-shm`, which survives an unclean stop with the log: when it exists and the
 * `-wal` does not, its header says how many log frames there were (`mxFrame`, offset 16) and how many were
 * already copied into the database (`nBackfill`, offset 96). Frames not copied are lost transactions; none
 * lost (a clean stop interrupted between deleting the two files, or a fully checkpointed log) opens as
 * usual, SQLite rebuilding the index. The index is in the machine's byte order.
 *
 * @example
 * checkWalIntact('.pbj/pbj.db') // throws WalMissingError when the -wal was deleted after a kill -9
 */
export function checkWalIntact(database: string): void {
  const shm = `${database}-shm`
  if (!existsSync(shm) || existsSync(`${database}-wal`)) return
  const header = Buffer.alloc(136)
  const fd = openSync(shm, 'r')
  let read = 0
  try {
    read = readSync(fd, header, 0, header.length, 0)
  } finally {
    closeSync(fd)
  }
  if (read < header.length) return
  const u32 = (offset: number) =>
    endianness() === 'LE' ? header.readUInt32LE(offset) : header.readUInt32BE(offset)
  const initialized = header[12] === 1
  const frames = u32(16) - u32(96)
  if (initialized && frames > 0) throw new WalMissingError({ database, frames })
}
