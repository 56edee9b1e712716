import { MerkleTreeError } from './errors/typedData.js'
import { keccak256 } from './keccak256.js'

/**
 * A Merkle tree over 32-byte leaves: its root, and the proof of each leaf.
 *
 * @example
 * const tree = buildMerkleTree(leaves)
 * merkleRoot(leaves[3], tree.proof(3)) // equals tree.root
 */
export type MerkleTree = {
  root: Uint8Array
  /** The sibling hashes from leaf `index` up to the root; empty for a tree of one leaf. */
  proof(index: number): Uint8Array[]
}

/**
 * Builds a Merkle tree whose pairs are hashed sorted (`keccak256(min ‖ max)`), as OpenZeppelin's
 * `MerkleProof` verifies, so a proof is a plain list of siblings with no left/right flags. An odd node at
 * the end of a level moves up unpaired. One leaf is its own root, with an empty proof.
 *
 * Leaves are EIP-712 struct hashes the verifier recomputes from the fields it is given, never raw leaves it
 * is handed, so an inner node cannot be passed off as a leaf.
 *
 * @example
 * const tree = buildMerkleTree(commands.map(hashes.commandLeaf))
 * const signature = signDigest(hashes.batchDigest(tree.root), operatorKey)
 */
export function buildMerkleTree(leaves: readonly Uint8Array[]): MerkleTree {
  if (leaves.length === 0) throw new MerkleTreeError({ reason: 'empty' })
  const levels: Uint8Array[][] = [leaves.slice()]
  for (let level = levels[0] as Uint8Array[]; level.length > 1; ) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1]
      next.push(right ? hashPair(level[i] as Uint8Array, right) : (level[i] as Uint8Array))
    }
    levels.push(next)
    level = next
  }
  return {
    root: (levels.at(-1) as Uint8Array[])[0] as Uint8Array,
    proof(index) {
      if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
        throw new MerkleTreeError({ reason: 'no-leaf', index, leaves: leaves.length })
      }
      const proof: Uint8Array[] = []
      for (let l = 0, i = index; l < levels.length - 1; l++, i >>= 1) {
        const sibling = (levels[l] as Uint8Array[])[i ^ 1]
        if (sibling) proof.push(sibling)
      }
      return proof
    },
  }
}

/**
 * The root a leaf and its proof lead to (OpenZeppelin's `processProof`); equal to the tree's root when the
 * proof is right.
 *
 * @example
 * const ok = equalBytes(merkleRoot(leaf, proof), root)
 */
export function merkleRoot(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let node = leaf
  for (const sibling of proof) node = hashPair(node, sibling)
  return node
}

// keccak256 reads its input before returning, so one scratch buffer serves every pair.
const pair = new Uint8Array(64)

function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const buffer = pair
  const aFirst = compare(a, b) <= 0
  buffer.set(aFirst ? a : b, 0)
  buffer.set(aFirst ? b : a, 32)
  return keccak256(buffer)
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return 0
}
