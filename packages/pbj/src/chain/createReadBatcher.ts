import { type Hex, RpcRequestError } from 'viem'
import { decodeAggregate3, encodeAggregate3 } from './aggregate3Codec.js'
import { multicall3Address } from './multicall3.js'

type Request = (method: string, params: readonly unknown[]) => Promise<unknown>

/** A batching `request`, and `flush()`, which sends the calls waiting for their batch now. */
export type ReadBatcher = Request & { flush: () => void }
type Pending = { to: Hex; data: Hex; resolve: (value: unknown) => void; reject: (error: unknown) => void }

/**
 * Wraps an RPC `request` so that plain `eth_call`s (`to` + `data`, no sender or value) made in the same
 * turn of the event loop at the same block go out as one Multicall3 `aggregate3` call. A node serves a
 * few thousand eth_calls per second (Anvil: ~1–4k/s, measured here), so a block that makes a thousand
 * runs read must not cost it a thousand calls; a lone call is sent as it is, without waiting (batches
 * close at `setImmediate`, not on a timer as viem's do). A failed sub-call rejects like the node's own
 * revert (code 3, with the revert data, so viem decodes the reason); a batch the node refuses as a whole
 * is sent again call by call. Pass `multicall: false` where the chain has no Multicall3. Inside a batch a view
 * sees Multicall3 as `msg.sender` (alone, the zero address): a view that depends on its caller is not a read.
 * `flush()` sends a batch without waiting for the turn to end: a caller that asked for all its reads in
 * one go (the prefetch at a new head) does not wait behind the rest of the turn's work.
 *
 * @example
 * const request = createReadBatcher((method, params) => pool.request(method, params), { multicall: true })
 * const [a, b] = await Promise.all([request('eth_call', [callA, 'latest']), request('eth_call', [callB, 'latest'])])
 */
export function createReadBatcher(
  request: Request,
  options: { multicall: boolean; maxBatch?: number },
): ReadBatcher {
  if (!options.multicall)
    return Object.assign((...args: Parameters<Request>) => request(...args), { flush() {} })
  const maxBatch = options.maxBatch ?? 500
  const groups = new Map<string, Pending[]>()
  let scheduled = false

  const sendOne = (block: unknown, p: Pending) =>
    request('eth_call', [{ to: p.to, data: p.data }, block]).then(p.resolve, p.reject)

  const sendBatch = async (block: unknown, batch: Pending[]) => {
    let results: readonly { success: boolean; returnData: Hex }[]
    try {
      const data = encodeAggregate3(batch.map((p) => ({ target: p.to, callData: p.data })))
      const raw = (await request('eth_call', [{ to: multicall3Address, data }, block])) as Hex
      results = decodeAggregate3(raw, batch.length)
    } catch {
      // Too much gas for one call, a node without the contract at this block…: each call on its own.
      for (const p of batch) void sendOne(block, p)
      return
    }
    batch.forEach((p, i) => {
      const result = results[i]
      if (result?.success) p.resolve(result.returnData)
      else
        p.reject(
          new RpcRequestError({
            body: { method: 'eth_call', params: [{ to: p.to, data: p.data }, block] },
            error: { code: 3, message: 'execution reverted', data: result?.returnData ?? '0x' },
            url: 'multicall3',
          }),
        )
    })
  }

  const flush = () => {
    scheduled = false
    for (const [key, pending] of groups) {
      groups.delete(key)
      const block = JSON.parse(key) as unknown
      for (let i = 0; i < pending.length; i += maxBatch) {
        const batch = pending.slice(i, i + maxBatch)
        if (batch.length === 1) void sendOne(block, batch[0] as Pending)
        else void sendBatch(block, batch)
      }
    }
  }

  const batched: Request = (method, params) => {
    const [call, block = 'latest', ...rest] = params as [
      Record<string, unknown> | undefined,
      unknown?,
      ...unknown[],
    ]
    const batchable =
      method === 'eth_call' &&
      rest.length === 0 &&
      call !== undefined &&
      typeof call.to === 'string' &&
      typeof call.data === 'string' &&
      Object.keys(call).every((k) => k === 'to' || k === 'data')
    if (!batchable) return request(method, params)
    return new Promise((resolve, reject) => {
      const key = JSON.stringify(block)
      const group = groups.get(key) ?? []
      group.push({ to: call.to as Hex, data: call.data as Hex, resolve, reject })
      groups.set(key, group)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
  }
  return Object.assign(batched, { flush })
}
