import type { Database } from 'better-sqlite3'
import type { Address, Hex } from 'viem'
import type { RelayedTx, RelayedTxAttempt, RelayedTxStore, RelayedTxUpdate } from '../../core/relayedTx.js'

/**
 * The relayer's tables. Kept beside their queries rather than in `schema.ts`: `CREATE TABLE IF NOT EXISTS`
 * makes them appear in older database files too. Amounts and fees are decimal TEXT (they overflow 64 bits).
 */
const relayedSchema = `
CREATE TABLE IF NOT EXISTS relayed_txs (
  key TEXT PRIMARY KEY, kind TEXT NOT NULL, chain_id INTEGER NOT NULL, sender TEXT NOT NULL,
  nonce INTEGER NOT NULL, to_address TEXT NOT NULL, data TEXT NOT NULL, value TEXT NOT NULL, gas TEXT NOT NULL,
  max_fee TEXT NOT NULL, priority_fee TEXT NOT NULL, hash TEXT NOT NULL, raw TEXT NOT NULL, status TEXT NOT NULL,
  confirmation TEXT NOT NULL, attempts INTEGER NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER,
  sent_block INTEGER, mined_at INTEGER, mined_block INTEGER, receipt TEXT, final INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
CREATE INDEX IF NOT EXISTS relayed_txs_open ON relayed_txs (chain_id, sender, nonce) WHERE final = 0;
CREATE TABLE IF NOT EXISTS relayed_tx_attempts (
  hash TEXT PRIMARY KEY, key TEXT NOT NULL, nonce INTEGER NOT NULL, raw TEXT NOT NULL, max_fee TEXT NOT NULL,
  priority_fee TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS relayed_tx_attempts_by_key ON relayed_tx_attempts (key);
`

type Row = Record<string, unknown>

const toTx = (r: Row): RelayedTx => {
  const receipt = r.receipt == null ? null : (JSON.parse(r.receipt as string) as Record<string, string>)
  return {
    key: r.key as string,
    kind: r.kind as RelayedTx['kind'],
    chainId: Number(r.chain_id),
    sender: r.sender as Address,
    nonce: Number(r.nonce),
    to: r.to_address as Address,
    data: r.data as Hex,
    value: BigInt(r.value as string),
    gas: BigInt(r.gas as string),
    maxFeePerGas: BigInt(r.max_fee as string),
    maxPriorityFeePerGas: BigInt(r.priority_fee as string),
    hash: r.hash as Hex,
    raw: r.raw as Hex,
    status: r.status as RelayedTx['status'],
    confirmation: JSON.parse(r.confirmation as string),
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    sentAt: r.sent_at == null ? null : Number(r.sent_at),
    sentBlock: r.sent_block == null ? null : BigInt(r.sent_block as number),
    minedAt: r.mined_at == null ? null : Number(r.mined_at),
    receipt: receipt && {
      transactionHash: receipt.transactionHash as Hex,
      blockNumber: BigInt(receipt.blockNumber as string),
      blockHash: receipt.blockHash as Hex,
      status: receipt.status as 'success' | 'reverted',
      gasUsed: BigInt(receipt.gasUsed as string),
      effectiveGasPrice: BigInt(receipt.effectiveGasPrice as string),
    },
    final: Number(r.final) === 1,
    error: (r.error as string | null) ?? null,
  }
}

const toAttempt = (r: Row): RelayedTxAttempt => ({
  hash: r.hash as Hex,
  key: r.key as string,
  nonce: Number(r.nonce),
  raw: r.raw as Hex,
  maxFeePerGas: BigInt(r.max_fee as string),
  maxPriorityFeePerGas: BigInt(r.priority_fee as string),
  createdAt: Number(r.created_at),
})

const receiptText = (receipt: RelayedTx['receipt']) =>
  receipt === null
    ? null
    : JSON.stringify({
        ...receipt,
        blockNumber: receipt.blockNumber.toString(),
        gasUsed: receipt.gasUsed.toString(),
        effectiveGasPrice: receipt.effectiveGasPrice.toString(),
      })

/** Column and value of each updatable field. */
const columns: { [field in keyof Required<RelayedTxUpdate>]: [string, (v: never) => unknown] } = {
  status: ['status', (v: string) => v],
  hash: ['hash', (v: string) => v],
  raw: ['raw', (v: string) => v],
  maxFeePerGas: ['max_fee', (v: bigint) => v.toString()],
  maxPriorityFeePerGas: ['priority_fee', (v: bigint) => v.toString()],
  sentAt: ['sent_at', (v: number | null) => v],
  sentBlock: ['sent_block', (v: bigint | null) => v],
  minedAt: ['mined_at', (v: number | null) => v],
  receipt: ['receipt', receiptText as (v: never) => unknown],
  final: ['final', (v: boolean) => (v ? 1 : 0)],
  error: ['error', (v: string | null) => v],
}

/**
 * Relayed transactions on SQLite: one row per intent (its current attempt inline) and one per signed
 * attempt, so the hash that finally mined is found whichever replacement it was.
 *
 * @example
 * const txs = sqliteRelayedTxs(db)
 * await txs.insert(record) // written before the broadcast
 * await txs.update(record.key, { status: 'pending', sentAt: Date.now() })
 */
export function sqliteRelayedTxs(db: Database): RelayedTxStore {
  db.exec(relayedSchema)
  const q = {
    get: db.prepare('SELECT * FROM relayed_txs WHERE key = ?'),
    insert: db.prepare(
      `INSERT INTO relayed_txs (key, kind, chain_id, sender, nonce, to_address, data, value, gas, max_fee,
         priority_fee, hash, raw, status, confirmation, attempts, created_at, sent_at, sent_block, mined_at,
         receipt, final, error)
       VALUES (@key, @kind, @chainId, @sender, @nonce, @to, @data, @value, @gas, @maxFee, @priorityFee, @hash,
         @raw, @status, @confirmation, @attempts, @createdAt, @sentAt, @sentBlock, @minedAt, @receipt, @final,
         @error)`,
    ),
    insertAttempt: db.prepare(
      `INSERT OR IGNORE INTO relayed_tx_attempts (hash, key, nonce, raw, max_fee, priority_fee, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    current: db.prepare(
      `UPDATE relayed_txs SET nonce = ?, hash = ?, raw = ?, max_fee = ?, priority_fee = ?,
         attempts = attempts + 1 WHERE key = ?`,
    ),
    attempts: db.prepare('SELECT * FROM relayed_tx_attempts WHERE key = ? ORDER BY created_at, rowid'),
    open: db.prepare(
      `SELECT * FROM relayed_txs WHERE chain_id = ? AND sender = ? AND final = 0 AND status != 'failed'
       ORDER BY nonce, created_at`,
    ),
  }
  const update = (key: string, fields: RelayedTxUpdate) => {
    const set: string[] = []
    const values: unknown[] = []
    for (const [field, value] of Object.entries(fields)) {
      const column = columns[field as keyof RelayedTxUpdate]
      if (!column || value === undefined) continue
      set.push(`${column[0]} = ?`)
      values.push(column[1](value as never))
    }
    if (set.length > 0)
      db.prepare(`UPDATE relayed_txs SET ${set.join(', ')} WHERE key = ?`).run(...values, key)
  }
  const insert = db.transaction((tx: RelayedTx) => {
    const existing = q.get.get(tx.key) as Row | undefined
    if (existing) return toTx(existing)
    q.insert.run({
      key: tx.key,
      kind: tx.kind,
      chainId: tx.chainId,
      sender: tx.sender,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value.toString(),
      gas: tx.gas.toString(),
      maxFee: tx.maxFeePerGas.toString(),
      priorityFee: tx.maxPriorityFeePerGas.toString(),
      hash: tx.hash,
      raw: tx.raw,
      status: tx.status,
      confirmation: JSON.stringify(tx.confirmation),
      attempts: tx.attempts,
      createdAt: tx.createdAt,
      sentAt: tx.sentAt,
      sentBlock: tx.sentBlock,
      minedAt: tx.minedAt,
      receipt: receiptText(tx.receipt),
      final: tx.final ? 1 : 0,
      error: tx.error,
    })
    q.insertAttempt.run(
      tx.hash,
      tx.key,
      tx.nonce,
      tx.raw,
      tx.maxFeePerGas.toString(),
      tx.maxPriorityFeePerGas.toString(),
      tx.createdAt,
    )
    return tx
  })
  const addAttempt = db.transaction(
    (key: string, a: Omit<RelayedTxAttempt, 'key'>, fields: RelayedTxUpdate) => {
      const fees = [a.maxFeePerGas.toString(), a.maxPriorityFeePerGas.toString()] as const
      q.insertAttempt.run(a.hash, key, a.nonce, a.raw, ...fees, a.createdAt)
      q.current.run(a.nonce, a.hash, a.raw, ...fees, key)
      update(key, fields)
      return toTx(q.get.get(key) as Row)
    },
  )
  return {
    async get(key) {
      const row = q.get.get(key) as Row | undefined
      return row ? toTx(row) : null
    },
    async insert(tx) {
      return insert(tx)
    },
    async addAttempt(key, attempt, fields = {}) {
      return addAttempt(key, attempt, fields)
    },
    async update(key, fields) {
      update(key, fields)
    },
    async attempts(key) {
      return (q.attempts.all(key) as Row[]).map(toAttempt)
    },
    async open(chainId, sender) {
      return (q.open.all(chainId, sender) as Row[]).map(toTx)
    },
    async list(filter = {}) {
      const where: string[] = []
      const values: unknown[] = []
      if (filter.chainId !== undefined) where.push('chain_id = ?') && values.push(filter.chainId)
      if (filter.sender !== undefined) where.push('sender = ?') && values.push(filter.sender)
      if (filter.status?.length) {
        where.push(`status IN (${filter.status.map(() => '?').join(', ')})`)
        values.push(...filter.status)
      }
      const sql = `SELECT * FROM relayed_txs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, rowid DESC LIMIT ?`
      return (db.prepare(sql).all(...values, filter.limit ?? 1_000) as Row[]).map(toTx)
    },
  }
}
