import type { Database } from 'better-sqlite3'
import type { Address, Hex } from 'viem'
import { z } from 'zod'
import type { Confirmation } from '../../core/confirmation.js'
import type { RelayedTx, RelayedTxAttempt, RelayedTxStore, RelayedTxUpdate } from '../../core/relayedTx.js'
import { MissingRowError } from './errors.js'
import { readJson } from './internal/readJson.js'

/** A `relayed_txs` row. Amounts and fees are decimal TEXT (they overflow 64 bits); JSON in `confirmation`, `receipt`. */
type RelayedTxRow = {
  key: string
  kind: RelayedTx['kind']
  chain_id: number
  sender: Address
  nonce: number
  to_address: Address
  data: Hex
  value: string
  gas: string
  max_fee: string
  priority_fee: string
  hash: Hex
  raw: Hex
  status: RelayedTx['status']
  confirmation: string
  attempts: number
  created_at: number
  sent_at: number | null
  sent_block: number | null
  mined_at: number | null
  mined_block: number | null
  receipt: string | null
  final: number
  error: string | null
}

/** A `relayed_tx_attempts` row. */
type AttemptRow = {
  hash: Hex
  key: string
  nonce: number
  raw: Hex
  max_fee: string
  priority_fee: string
  created_at: number
}

const hex = z.custom<Hex>((v) => typeof v === 'string' && v.startsWith('0x'))
/** The receipt as receiptText writes it: bigints as decimal strings. */
const receiptSchema = z.object({
  transactionHash: hex,
  blockNumber: z.string(),
  blockHash: hex,
  status: z.enum(['success', 'reverted']),
  gasUsed: z.string(),
  effectiveGasPrice: z.string(),
})
const confirmationSchema = z.union([
  z.literal('instant'),
  z.literal('finalized'),
  z.object({ confirmations: z.number() }),
]) satisfies z.ZodType<Confirmation>

const toTx = (r: RelayedTxRow): RelayedTx => {
  const receipt = r.receipt === null ? null : readJson(receiptSchema, r.receipt, 'relayed_txs.receipt')
  return {
    key: r.key,
    kind: r.kind,
    chainId: r.chain_id,
    sender: r.sender,
    nonce: r.nonce,
    to: r.to_address,
    data: r.data,
    value: BigInt(r.value),
    gas: BigInt(r.gas),
    maxFeePerGas: BigInt(r.max_fee),
    maxPriorityFeePerGas: BigInt(r.priority_fee),
    hash: r.hash,
    raw: r.raw,
    status: r.status,
    confirmation: readJson(confirmationSchema, r.confirmation, 'relayed_txs.confirmation'),
    attempts: r.attempts,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    sentBlock: r.sent_block === null ? null : BigInt(r.sent_block),
    minedAt: r.mined_at,
    receipt: receipt && {
      ...receipt,
      blockNumber: BigInt(receipt.blockNumber),
      gasUsed: BigInt(receipt.gasUsed),
      effectiveGasPrice: BigInt(receipt.effectiveGasPrice),
    },
    final: r.final === 1,
    error: r.error,
  }
}

const toAttempt = (r: AttemptRow): RelayedTxAttempt => ({
  hash: r.hash,
  key: r.key,
  nonce: r.nonce,
  raw: r.raw,
  maxFeePerGas: BigInt(r.max_fee),
  maxPriorityFeePerGas: BigInt(r.priority_fee),
  createdAt: r.created_at,
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

type SqlValue = string | number | bigint | null
/** The value of each updatable field when it is set. */
type Values = { [field in keyof RelayedTxUpdate]-?: Exclude<RelayedTxUpdate[field], undefined> }
type Field = keyof Values

/** Column and value of each updatable field. */
const columns: { [field in Field]: [column: string, value: (v: Values[field]) => SqlValue] } = {
  status: ['status', (v: string) => v],
  hash: ['hash', (v: string) => v],
  raw: ['raw', (v: string) => v],
  maxFeePerGas: ['max_fee', (v: bigint) => v.toString()],
  maxPriorityFeePerGas: ['priority_fee', (v: bigint) => v.toString()],
  sentAt: ['sent_at', (v: number | null) => v],
  sentBlock: ['sent_block', (v: bigint | null) => v],
  minedAt: ['mined_at', (v: number | null) => v],
  receipt: ['receipt', receiptText],
  final: ['final', (v: boolean) => (v ? 1 : 0)],
  error: ['error', (v: string | null) => v],
}

const fields = Object.keys(columns) as Field[]

/** The column a field is written to and its value there; null when the update leaves the field alone. */
const assignment = <F extends Field>(update: RelayedTxUpdate, field: F): [string, SqlValue] | null => {
  const value = update[field]
  if (!isSet(value)) return null
  const [column, toValue] = columns[field]
  return [column, toValue(value)]
}
const isSet = <T>(value: T): value is Exclude<T, undefined> => value !== undefined

/**
 * Relayed transactions on SQLite: one row per intent (its current attempt inline) and one per signed
 * attempt, so the hash that finally mined is found whichever replacement it was.
 *
 * @example
 * const txs = sqliteRelayedTxs(db) // db already migrated (see migrate)
 * await txs.insert(record) // written before the broadcast
 * await txs.update(record.key, { status: 'pending', sentAt: Date.now() })
 */
export function sqliteRelayedTxs(db: Database): RelayedTxStore {
  const q = {
    get: db.prepare<[string], RelayedTxRow>('SELECT * FROM relayed_txs WHERE key = ?'),
    insert: db.prepare<Record<string, string | number | bigint | null>>(
      `INSERT INTO relayed_txs (key, kind, chain_id, sender, nonce, to_address, data, value, gas, max_fee,
         priority_fee, hash, raw, status, confirmation, attempts, created_at, sent_at, sent_block, mined_at,
         receipt, final, error)
       VALUES (@key, @kind, @chainId, @sender, @nonce, @to, @data, @value, @gas, @maxFee, @priorityFee, @hash,
         @raw, @status, @confirmation, @attempts, @createdAt, @sentAt, @sentBlock, @minedAt, @receipt, @final,
         @error)`,
    ),
    insertAttempt: db.prepare<[Hex, string, number, Hex, string, string, number]>(
      `INSERT OR IGNORE INTO relayed_tx_attempts (hash, key, nonce, raw, max_fee, priority_fee, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    current: db.prepare<[number, Hex, Hex, string, string, string]>(
      `UPDATE relayed_txs SET nonce = ?, hash = ?, raw = ?, max_fee = ?, priority_fee = ?,
         attempts = attempts + 1 WHERE key = ?`,
    ),
    attempts: db.prepare<[string], AttemptRow>(
      'SELECT * FROM relayed_tx_attempts WHERE key = ? ORDER BY created_at, rowid',
    ),
    open: db.prepare<[number, Address], RelayedTxRow>(
      `SELECT * FROM relayed_txs WHERE chain_id = ? AND sender = ? AND final = 0 AND status != 'failed'
       ORDER BY nonce, created_at`,
    ),
  }
  const update = (key: string, changes: RelayedTxUpdate) => {
    const set: string[] = []
    const values: SqlValue[] = []
    for (const field of fields) {
      const change = assignment(changes, field)
      if (!change) continue
      set.push(`${change[0]} = ?`)
      values.push(change[1])
    }
    if (set.length > 0)
      db.prepare<SqlValue[]>(`UPDATE relayed_txs SET ${set.join(', ')} WHERE key = ?`).run(...values, key)
  }
  const insert = db.transaction((tx: RelayedTx) => {
    const existing = q.get.get(tx.key)
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
      const row = q.get.get(key)
      if (!row) throw new MissingRowError({ table: 'relayed_txs', key })
      return toTx(row)
    },
  )
  return {
    async get(key) {
      const row = q.get.get(key)
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
      return q.attempts.all(key).map(toAttempt)
    },
    async open(chainId, sender) {
      return q.open.all(chainId, sender).map(toTx)
    },
    async list(filter = {}) {
      const where: string[] = []
      const values: (string | number)[] = []
      if (filter.chainId !== undefined) where.push('chain_id = ?') && values.push(filter.chainId)
      if (filter.sender !== undefined) where.push('sender = ?') && values.push(filter.sender)
      if (filter.status?.length) {
        where.push(`status IN (${filter.status.map(() => '?').join(', ')})`)
        values.push(...filter.status)
      }
      const sql = `SELECT * FROM relayed_txs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, rowid DESC LIMIT ?`
      return db
        .prepare<(string | number)[], RelayedTxRow>(sql)
        .all(...values, filter.limit ?? 1_000)
        .map(toTx)
    },
  }
}
