import type { Cursor } from '../core/block.js'
import { DeepReorgError } from '../internal/errors.js'
import type { ChainConnection } from './types.js'

/**
 * Walks down from `from` comparing the node's canonical block at each height with the hash pbj processed
 * there, and returns the newest block both share. Returns `'lagging'` when the node has no block at pbj's
 * own head yet: a node that is merely behind must not make pbj roll back good blocks. Throws
 * DeepReorgError when no block down to `maxDepth` below pbj's head (or down to the oldest block the store
 * keeps) is shared; its `oldestKept` is that oldest height compared, where the follower can resume.
 *
 * @example
 * const ancestor = await findCommonAncestor({ chain, hashAt, from: 41n, maxDepth: 250, ourHead })
 */
export async function findCommonAncestor(p: {
  chain: ChainConnection
  hashAt: (n: bigint) => Promise<string | null>
  from: bigint
  maxDepth: number
  ourHead: Cursor
}): Promise<Cursor | 'lagging'> {
  // Cross-check: the node must serve a *different* block at our head's height, not none.
  const atOurHead = await p.chain.getHeader(p.ourHead.number).catch(() => null)
  if (atOurHead === null) return 'lagging'
  if (atOurHead.hash === p.ourHead.hash && p.from >= p.ourHead.number) return p.ourHead
  const floor = p.ourHead.number - BigInt(p.maxDepth)
  // A `from` below the window (a stale head far down) leaves nothing to compare: the fork is below the
  // window, and the follower resumes at the window's depth.
  let oldestKept = p.from < floor ? floor : p.from
  for (let h = p.from; h >= 0n && h >= floor; h--) {
    const ours = await p.hashAt(h)
    if (ours === null) break
    oldestKept = h
    const theirs = await p.chain.getHeader(h)
    if (theirs.hash === ours) return theirs
  }
  throw new DeepReorgError({
    maxDepth: p.maxDepth,
    ourHead: p.ourHead,
    theirHash: atOurHead.hash,
    oldestKept,
  })
}
