import type { Hex } from 'viem'
import type { RelayedTx } from '../../core/relayedTx.js'
import { broadcastRelayedTx, markMined, replaceRelayedTx, settleUsedNonce } from './broadcastRelayedTx.js'
import { type RelayerContext, signRelayedTx } from './relayerContext.js'

const inFlight = (tx: RelayedTx) => tx.status === 'signed' || tx.status === 'pending'

/**
 * One pass of the relayer's tracker over the sender's open records, against the chain as it is now:
 *
 * 1. Records in flight whose nonce the chain has used (mined count past it) are settled: marked mined by
 *    whichever attempt's receipt exists, or re-signed with a fresh nonce if another transaction took it.
 * 2. Mined records are checked against the canonical block at their height: a receipt whose block was
 *    reorged out sends the record back to `pending` (re-broadcast below); the others move on to
 *    `confirmed` once their confirmation mode is reached, and stop being watched once out of reorg reach.
 * 3. Gaps are healed: every nonce from the node's pending count up to our highest record in flight must be
 *    in the pool, so each record there is re-broadcast (a dropped or never-sent transaction, or one a
 *    node refused as "too high"), and a nonce no record holds any more is filled with a 0-value
 *    self-transfer. With nothing in flight above the pending count, the counter is rewound to it.
 * 4. On a new head, a record pending for `stuckBlocks` blocks is replaced with bumped fees (or
 *    re-broadcast, if the node has forgotten it) when it holds up the queue or is priced below the market.
 *
 * With no record open, a pass asks the chain nothing.
 *
 * @example
 * await trackRelayedTxs(ctx) // the relayer runs it each block and every polling interval
 */
export async function trackRelayedTxs(ctx: RelayerContext): Promise<void> {
  const open = await ctx.txs.open(ctx.chainId, ctx.sender)
  // Nothing to follow: an idle relayer costs the node nothing; the next send re-reads the nonce instead.
  if (open.length === 0) {
    ctx.resync = true
    return
  }
  const head = await ctx.rpc.head()
  const newHead = head !== ctx.trackedHead
  ctx.trackedHead = head
  ctx.head = head
  const [latest, pending] = await Promise.all([
    ctx.rpc.nonceAt(ctx.sender, 'latest'),
    ctx.rpc.nonceAt(ctx.sender, 'pending'),
  ])

  const used = open.filter((t) => inFlight(t) && t.nonce < latest)
  await Promise.all(used.map((t) => ctx.withKey(t.key, () => settleUsedNonce(ctx, t))))

  await followMined(
    ctx,
    open.filter((t) => t.status === 'mined' || t.status === 'confirmed'),
    head,
  )
  await healGaps(ctx, pending)
  if (newHead) await replaceStuck(ctx, head, latest)
  // Forget the broadcast times of records no longer in flight, so a long-running relayer does not grow.
  const inFlightKeys = new Set(open.filter(inFlight).map((t) => t.key))
  const stale = Date.now() - 2 * ctx.options.rebroadcastMs
  for (const [key, at] of ctx.lastBroadcast)
    if (!inFlightKeys.has(key) && at < stale) ctx.lastBroadcast.delete(key)
  for (const key of ctx.usedNonceSeen.keys()) if (!inFlightKeys.has(key)) ctx.usedNonceSeen.delete(key)
}

/** Step 2: reorg checks and confirmation of mined records. */
async function followMined(ctx: RelayerContext, mined: RelayedTx[], head: bigint) {
  if (mined.length === 0) return
  const finalized = await ctx.rpc.finalized()
  const canonical = new Map<bigint, Promise<Hex | null>>()
  const hashAt = (n: bigint) => {
    const known = canonical.get(n)
    if (known) return known
    const hash = ctx.rpc.blockHash(n)
    canonical.set(n, hash)
    return hash
  }
  await Promise.all(
    mined.map(async (t) => {
      const receipt = t.receipt
      if (!receipt) return
      if ((await hashAt(receipt.blockNumber)) !== receipt.blockHash) {
        await ctx.withKey(t.key, () => reorged(ctx, t))
        return
      }
      const depth = head - receipt.blockNumber
      const isFinalized = finalized !== null && finalized >= receipt.blockNumber
      const mode = t.confirmation
      const reached =
        mode === 'instant' ||
        (mode === 'finalized' ? isFinalized : depth >= BigInt(mode.confirmations) || isFinalized)
      // `instant` counts as confirmed at once but stays watched until a reorg can no longer reach it.
      const final = mode === 'instant' ? depth >= BigInt(ctx.options.finalityDepth) || isFinalized : reached
      if (reached && t.status === 'mined') {
        await ctx.txs.update(t.key, { status: 'confirmed', final })
        ctx.events.emit('tx:confirmed', {
          key: t.key,
          hash: t.hash,
          nonce: t.nonce,
          blockNumber: receipt.blockNumber,
        })
      } else if (final && !t.final) {
        await ctx.txs.update(t.key, { final: true })
      }
    }),
  )
}

/** A mined record whose block is no longer canonical: mined elsewhere, or pending again. */
async function reorged(ctx: RelayerContext, stale: RelayedTx) {
  const t = await ctx.txs.get(stale.key)
  if (!t?.receipt || (t.status !== 'mined' && t.status !== 'confirmed')) return
  const attempts = await ctx.txs.attempts(t.key)
  for (const a of attempts) {
    const receipt = await ctx.rpc.receipt(a.hash)
    // Re-included in another block of the new chain: it is mined there.
    if (receipt) return void (await markMined(ctx, { ...t, status: 'mined' }, a, receipt))
  }
  await ctx.txs.update(t.key, { status: 'pending', receipt: null, minedAt: null, sentBlock: ctx.head })
  ctx.events.emit('tx:reorged', {
    key: t.key,
    hash: t.hash,
    nonce: t.nonce,
    blockNumber: t.receipt.blockNumber,
  })
}

/** Step 3: every nonce from the pending count to our highest record in flight must be in the pool. */
async function healGaps(ctx: RelayerContext, pending: number) {
  const toSend = await ctx.nonces.locked(async () => {
    // Under the allocation lock no nonce is half-allocated: a nonce below the counter without a record in
    // flight is a real gap, not a send about to record it.
    const records = (await ctx.txs.open(ctx.chainId, ctx.sender)).filter(inFlight)
    const highest = records.reduce<number | null>((h, t) => (h === null || t.nonce > h ? t.nonce : h), null)
    if (!ctx.nonces.synced()) ctx.nonces.sync(pending, highest)
    else ctx.nonces.sync(pending, null)
    if (highest === null || highest < pending) {
      ctx.nonces.rewind(pending)
      return []
    }
    const byNonce = new Map(records.map((t) => [t.nonce, t]))
    const out: RelayedTx[] = []
    for (let n = pending; n <= highest; n++) {
      const t = byNonce.get(n)
      if (!t) out.push(await createFiller(ctx, n))
      else if (Date.now() - (ctx.lastBroadcast.get(t.key) ?? 0) >= ctx.options.rebroadcastMs) out.push(t)
    }
    return out
  })
  // In nonce order, one at a time: a node that refuses gaps takes them only in order.
  for (const t of toSend) {
    await ctx.withKey(t.key, async () => {
      const fresh = await ctx.txs.get(t.key)
      if (fresh && inFlight(fresh) && fresh.nonce === t.nonce) await broadcastRelayedTx(ctx, fresh, true)
    })
  }
}

/** A 0-value self-transfer at `nonce`, recorded (signed) under the allocation lock. */
async function createFiller(ctx: RelayerContext, nonce: number): Promise<RelayedTx> {
  const fees = await ctx.fees()
  const body = { nonce, to: ctx.sender, data: '0x' as Hex, value: 0n, gas: 21_000n, ...fees }
  const signed = await signRelayedTx(ctx, body)
  const filler = await ctx.txs.insert({
    ...body,
    key: `filler:${ctx.chainId}:${ctx.sender}:${nonce}:${signed.hash}`,
    kind: 'filler',
    chainId: ctx.chainId,
    sender: ctx.sender,
    hash: signed.hash,
    raw: signed.raw,
    status: 'signed',
    confirmation: 'instant',
    attempts: 1,
    createdAt: Date.now(),
    sentAt: null,
    sentBlock: null,
    minedAt: null,
    receipt: null,
    final: false,
    error: null,
  })
  ctx.events.emit('tx:filler', { key: filler.key, hash: filler.hash, nonce })
  return filler
}

/** Step 4: replaces (or re-broadcasts) transactions pending for `stuckBlocks` blocks. */
async function replaceStuck(ctx: RelayerContext, head: bigint, latest: number) {
  const pendings = (await ctx.txs.open(ctx.chainId, ctx.sender)).filter((t) => t.status === 'pending')
  let market: Awaited<ReturnType<RelayerContext['fees']>> | null = null
  for (const t of pendings) {
    if (t.sentBlock === null) {
      await ctx.txs.update(t.key, { sentBlock: head })
      continue
    }
    if (head - t.sentBlock < BigInt(ctx.options.stuckBlocks)) continue
    market ??= await ctx.fees()
    // One waiting behind a stuck lower nonce, and priced for the market, gets mined once that one is.
    if (t.nonce !== latest && t.maxFeePerGas >= market.maxFeePerGas) continue
    await ctx.withKey(t.key, async () => {
      const fresh = await ctx.txs.get(t.key)
      if (fresh?.status !== 'pending' || fresh.hash !== t.hash) return
      if (await ctx.rpc.knows(fresh.hash)) await replaceRelayedTx(ctx, fresh)
      else await broadcastRelayedTx(ctx, fresh, true)
    })
  }
}
