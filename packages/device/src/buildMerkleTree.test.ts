import { randomBytes } from 'node:crypto'
import { bytesToHex } from '@noble/hashes/utils'
import { keccak256 as viemKeccak } from 'viem'
import { describe, expect, it } from 'vitest'
import { buildMerkleTree, merkleRoot } from './buildMerkleTree.js'

const leaf = () => new Uint8Array(randomBytes(32))
const hex = (bytes: Uint8Array) => `0x${bytesToHex(bytes)}`
/** OpenZeppelin's `_hashPair`, written independently with viem: keccak256 of the sorted pair. */
const hashPair = (a: string, b: string) =>
  viemKeccak(`0x${(a < b ? [a, b] : [b, a]).map((x) => x.slice(2)).join('')}`)

describe('buildMerkleTree', () => {
  it('gives every leaf of trees of 1 to 70 leaves a proof that leads to the root', () => {
    for (let size = 1; size <= 70; size++) {
      const leaves = Array.from({ length: size }, leaf)
      const tree = buildMerkleTree(leaves)
      leaves.forEach((l, i) => {
        const proof = tree.proof(i)
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)))
        expect(hex(merkleRoot(l, proof)), `leaf ${i} of ${size}`).toBe(hex(tree.root))
        // OpenZeppelin's MerkleProof.processProof, step by step
        expect(proof.map(hex).reduce(hashPair, hex(l))).toBe(hex(tree.root))
      })
    }
  })

  it('makes a single leaf its own root, and two leaves the hash of their sorted pair', () => {
    const [a, b] = [leaf(), leaf()]
    expect(buildMerkleTree([a]).root).toEqual(a)
    expect(buildMerkleTree([a]).proof(0)).toEqual([])
    expect(hex(buildMerkleTree([a, b]).root)).toBe(hashPair(hex(a), hex(b)))
    expect(buildMerkleTree([b, a]).root).toEqual(buildMerkleTree([a, b]).root)
  })

  it('leads nowhere near the root with another leaf, a changed proof entry, or entries in another order', () => {
    const leaves = Array.from({ length: 13 }, leaf)
    const tree = buildMerkleTree(leaves)
    const proof = tree.proof(5)
    const root = hex(tree.root)
    expect(hex(merkleRoot(leaf(), proof))).not.toBe(root)
    expect(hex(merkleRoot(leaves[5] as Uint8Array, tree.proof(6)))).not.toBe(root)
    const changed = proof.map((p) => p.slice())
    const entry = changed[1] as Uint8Array
    entry[7] = (entry[7] as number) ^ 1
    expect(hex(merkleRoot(leaves[5] as Uint8Array, changed))).not.toBe(root)
    expect(hex(merkleRoot(leaves[5] as Uint8Array, [...proof].reverse()))).not.toBe(root)
    expect(hex(merkleRoot(leaves[5] as Uint8Array, proof.slice(1)))).not.toBe(root)
    expect(() => buildMerkleTree([])).toThrow(/at least one leaf/)
    expect(() => tree.proof(13)).toThrow(/no leaf 13/)
  })
})
