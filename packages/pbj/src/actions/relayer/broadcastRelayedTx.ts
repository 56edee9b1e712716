import { messageOf } from '@pbj/internal/messageOf.js'
import type { RelayedReceipt, RelayedTx, RelayedTxAttempt } from '../../core/relayedTx.js'
import { bumpFees } from './bumpFees.js'
import { classifySendError, type SendErrorKind } from './classifySendError.js'
import { type RelayerContext, signRelayedTx } from './relayerContext.js'

/** Re-signs a record may chain in one go (a refusal answered by a re-sign that is refused again…). */
const maxDepth = 3
/** Tracker passes a used nonce may stay unexplained (our attempt still known) before the intent is re-signed. */
const usedNonceGrace = 3

const inFlight = (tx: RelayedTx) => tx.status === 'signed' || tx.status === 'pending'

/**
 * Hands a record's current signed attempt to the node and acts on the answer. Call it with the record's
 * key held (`ctx.withKey`). Accepted (or already known): the record is `pending`. "Nonce too low": the
 * chain decides whether one of our attempts was mined or another transaction took the nonce (then the
 * intent is re-signed with a fresh nonce): it is never retried as is. "Nonce too high": the tracker
 * fills the gap and re-broadcasts. Fee below the base fee: re-signed at the market's fees. A permanent
 * refusal of a first attempt fails the record, and its nonce is filled or given back. Anything else
 * (transport, rate limit, insufficient funds) leaves it `signed` for the tracker to retry.
 *
 * @example
 * const tx = await ctx.withKey(record.key, () => broadcastRelayedTx(ctx, record))
 * tx.status // 'pending'
 */
export async function broadcastRelayedTx(
  ctx: RelayerContext,
  tx: RelayedTx,
  rebroadcast = false,
  depth = 0,
): Promise<RelayedTx> {
  await ctx.hooks.beforeBroadcast?.(tx)
  ctx.lastBroadcast.set(tx.key, Date.now())
  let kind: SendErrorKind | 'accepted' = 'accepted'
  let error: unknown
  try {
    await ctx.rpc.sendRaw(tx.raw)
  } catch (e) {
    error = e
    kind = classifySendError(e)
  }
  switch (kind) {
    case 'accepted':
    case 'known':
    case 'replacement-underpriced': {
      // Underpriced: a transaction with this nonce is already pooled (an earlier attempt or someone
      // else's). Either way the nonce is taken care of; the tracker sees which one gets mined.
      if (tx.status === 'signed')
        await ctx.txs.update(tx.key, { status: 'pending', sentAt: Date.now(), sentBlock: ctx.head })
      // A node that had lost it took it again: its wait for a block starts over.
      else if (kind === 'accepted' && rebroadcast) await ctx.txs.update(tx.key, { sentBlock: ctx.head })
      if (kind !== 'replacement-underpriced')
        ctx.events.emit('tx:sent', {
          key: tx.key,
          hash: tx.hash,
          nonce: tx.nonce,
          attempt: tx.attempts,
          rebroadcast,
        })
      return (await ctx.txs.get(tx.key)) ?? tx
    }
    case 'nonce-too-low':
      return settleUsedNonce(ctx, tx, depth)
    case 'nonce-too-high':
      // The node will not queue it behind a gap: the tracker fills the gap, then re-broadcasts in order.
      ctx.wake()
      return tx
    case 'fee-too-low':
      return depth < maxDepth ? replaceRelayedTx(ctx, tx, depth + 1) : tx
    case 'rejected':
      if (tx.status === 'signed' && tx.attempts === 1)
        return fail(ctx, tx, messageOf(error, { firstLine: true }))
      ctx.logger.warn(
        `relayer: node refused ${tx.hash} (${tx.key}): ${messageOf(error, { firstLine: true })}`,
        {
          key: tx.key,
          hash: tx.hash,
        },
      )
      return tx
    default:
      if (kind === 'funds' || !rebroadcast)
        ctx.logger.warn(
          `relayer: ${tx.key} not sent yet (${kind}): ${messageOf(error, { firstLine: true })}`,
          {
            key: tx.key,
            kind,
          },
        )
      return tx
  }
}

/**
 * Settles a record whose nonce the chain reports as used ("nonce too low", or the sender's mined count
 * above it): if one of its attempts was mined, it is marked mined; if another transaction took the nonce,
 * the intent is re-signed with a fresh nonce (a filler is simply dropped). A node that says "too low"
 * while the chain's mined count is not past the nonce is not believed. Call it with the key held.
 *
 * @example
 * await ctx.withKey(tx.key, () => settleUsedNonce(ctx, tx))
 */
export async function settleUsedNonce(ctx: RelayerContext, stale: RelayedTx, depth = 0): Promise<RelayedTx> {
  const tx = (await ctx.txs.get(stale.key)) ?? stale
  if (!inFlight(tx)) return tx
  const latest = await ctx.rpc.nonceAt(ctx.sender, 'latest')
  if (latest <= tx.nonce) return tx
  const attempts = await ctx.txs.attempts(tx.key)
  const receipts = await Promise.all(attempts.map((a) => ctx.rpc.receipt(a.hash)))
  const mined = receipts.findIndex((r) => r !== null)
  if (mined >= 0)
    return markMined(ctx, tx, attempts[mined] as RelayedTxAttempt, receipts[mined] as RelayedReceipt)
  // Receipts can lag the nonce count on load-balanced RPCs: while one of our attempts is still known to
  // the node, give it a few passes before concluding another transaction took the nonce.
  const seen = (ctx.usedNonceSeen.get(tx.key) ?? 0) + 1
  ctx.usedNonceSeen.set(tx.key, seen)
  if (seen < usedNonceGrace) {
    const known = await Promise.all(attempts.map((a) => ctx.rpc.knows(a.hash)))
    if (known.some(Boolean)) return tx
  }
  ctx.usedNonceSeen.delete(tx.key)
  if (tx.kind === 'filler')
    return fail(ctx, tx, 'its nonce was used by another transaction; no filler needed')
  if (depth >= maxDepth) return tx
  return renonce(ctx, tx, depth)
}

/**
 * Replaces a pending record with the same nonce and fees raised by at least 12.5 % (and to the market's,
 * if higher), recorded as a new attempt before it is broadcast. Call it with the key held.
 *
 * @example
 * await ctx.withKey(tx.key, () => replaceRelayedTx(ctx, tx))
 */
export async function replaceRelayedTx(ctx: RelayerContext, tx: RelayedTx, depth = 0): Promise<RelayedTx> {
  const fees = bumpFees(tx, await ctx.fees(), ctx.options.maxFeePerGas)
  if (!fees) {
    ctx.logger.warn(`relayer: ${tx.key} is stuck but a replacement would exceed the fee cap`, { key: tx.key })
    return tx
  }
  const signed = await signRelayedTx(ctx, { ...tx, ...fees })
  const updated = await ctx.txs.addAttempt(
    tx.key,
    { hash: signed.hash, nonce: tx.nonce, raw: signed.raw, ...fees, createdAt: Date.now() },
    { sentBlock: ctx.head },
  )
  ctx.events.emit('tx:replaced', {
    key: tx.key,
    hash: signed.hash,
    previousHash: tx.hash,
    nonce: tx.nonce,
    ...fees,
  })
  return broadcastRelayedTx(ctx, updated, true, depth + 1)
}

/** Re-signs an intent whose nonce another transaction used, with a fresh nonce, and broadcasts it. */
async function renonce(ctx: RelayerContext, tx: RelayedTx, depth: number): Promise<RelayedTx> {
  const fees = await ctx.fees()
  const updated = await ctx.nonces.locked(async () => {
    // The chain is ahead of the counter (someone else sends with this key): move past its transactions.
    ctx.nonces.sync(await ctx.rpc.nonceAt(ctx.sender, 'pending'), null)
    const nonce = ctx.nonces.take()
    try {
      const signed = await signRelayedTx(ctx, { ...tx, ...fees, nonce })
      return await ctx.txs.addAttempt(
        tx.key,
        { hash: signed.hash, nonce, raw: signed.raw, ...fees, createdAt: Date.now() },
        { status: 'signed', sentAt: null, sentBlock: null },
      )
    } catch (error) {
      ctx.nonces.giveBack(nonce)
      throw error
    }
  })
  ctx.events.emit('tx:renonced', {
    key: tx.key,
    hash: updated.hash,
    previousNonce: tx.nonce,
    nonce: updated.nonce,
  })
  return broadcastRelayedTx(ctx, updated, false, depth + 1)
}

/**
 * Records the attempt that was mined (which may be an earlier one than the current) with its receipt.
 * `instant` records are confirmed at once; the others wait for the tracker.
 */
export async function markMined(
  ctx: RelayerContext,
  tx: RelayedTx,
  attempt: RelayedTxAttempt,
  receipt: RelayedReceipt,
): Promise<RelayedTx> {
  const instant = tx.confirmation === 'instant'
  await ctx.txs.update(tx.key, {
    status: instant ? 'confirmed' : 'mined',
    hash: attempt.hash,
    raw: attempt.raw,
    maxFeePerGas: attempt.maxFeePerGas,
    maxPriorityFeePerGas: attempt.maxPriorityFeePerGas,
    minedAt: Date.now(),
    receipt,
    error: receipt.status === 'reverted' ? 'reverted' : null,
  })
  const event = { key: tx.key, hash: attempt.hash, nonce: attempt.nonce, blockNumber: receipt.blockNumber }
  ctx.events.emit('tx:mined', { ...event, status: receipt.status })
  if (instant) ctx.events.emit('tx:confirmed', event)
  return (await ctx.txs.get(tx.key)) ?? tx
}

/** Gives a record up; its nonce becomes a gap the tracker fills, or gives back. */
async function fail(ctx: RelayerContext, tx: RelayedTx, error: string): Promise<RelayedTx> {
  await ctx.txs.update(tx.key, { status: 'failed', final: true, error })
  ctx.events.emit('tx:failed', { key: tx.key, nonce: tx.nonce, error })
  ctx.wake()
  return (await ctx.txs.get(tx.key)) ?? tx
}
