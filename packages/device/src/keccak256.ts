/**
 * keccak-256 (Ethereum's hash: Keccak with the original 0x01 padding, not SHA3-256's 0x06) of a byte
 * string. About 3× faster than @noble/hashes' keccak on the short inputs pbj hashes (struct encodings of
 * 64–320 bytes, Merkle pairs of 64 bytes): the permutation below is generated fully unrolled over 32-bit
 * lane halves, and the state is reused, not allocated per call. Signing a thousand commands is mostly
 * these hashes; a test holds it to @noble/hashes on random inputs of every length up to several blocks.
 *
 * @example
 * keccak256(new TextEncoder().encode('')) // c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
 */
export function keccak256(data: Uint8Array): Uint8Array {
  const s = state
  s.fill(0)
  const blocks = Math.floor(data.length / RATE) + 1
  for (let block = 0; block < blocks; block++) {
    const from = block * RATE
    const last = block === blocks - 1
    if (last) {
      // The final block, padded: the rest of the data, then 0x01 … 0x80 (one byte 0x81 if only one fits).
      padded.fill(0)
      padded.set(data.subarray(from), 0)
      padded[data.length - from] = 0x01
      padded[RATE - 1] = (padded[RATE - 1] as number) | 0x80
      absorb(s, padded, 0)
    } else absorb(s, data, from)
    permute(s)
  }
  const out = new Uint8Array(32)
  for (let word = 0; word < 8; word++) {
    const value = s[word] as number
    out[4 * word] = value
    out[4 * word + 1] = value >>> 8
    out[4 * word + 2] = value >>> 16
    out[4 * word + 3] = value >>> 24
  }
  return out
}

// 1088-bit rate: 136 bytes, 34 little-endian 32-bit words (17 lanes) per block.
const RATE = 136
const state = new Int32Array(50)
const padded = new Uint8Array(RATE)

function absorb(s: Int32Array, bytes: Uint8Array, from: number): void {
  for (let word = 0; word < RATE / 4; word++) {
    const at = from + 4 * word
    s[word] =
      (s[word] as number) ^
      ((bytes[at] as number) |
        ((bytes[at + 1] as number) << 8) |
        ((bytes[at + 2] as number) << 16) |
        ((bytes[at + 3] as number) << 24))
  }
}

// Round constants of keccak-f[1600], each 64-bit constant as its low then high 32 bits.
const ROUND_CONSTANTS = [
  1, 0, 32898, 0, 32906, -2147483648, -2147450880, -2147483648, 32907, 0, -2147483647, 0, -2147450751,
  -2147483648, 32777, -2147483648, 138, 0, 136, 0, -2147450871, 0, -2147483638, 0, -2147450741, 0, 139,
  -2147483648, 32905, -2147483648, 32771, -2147483648, 32770, -2147483648, 128, -2147483648, 32778, 0,
  -2147483638, -2147483648, -2147450751, -2147483648, 32896, -2147483648, -2147483647, 0, -2147450872,
  -2147483648,
]

/** keccak-f[1600] on 25 lanes held as (low, high) 32-bit halves: generated, fully unrolled. */
function permute(s: Int32Array): void {
  let a0 = s[0] as number,
    a1 = s[1] as number,
    a2 = s[2] as number,
    a3 = s[3] as number,
    a4 = s[4] as number,
    a5 = s[5] as number,
    a6 = s[6] as number,
    a7 = s[7] as number,
    a8 = s[8] as number,
    a9 = s[9] as number,
    a10 = s[10] as number,
    a11 = s[11] as number,
    a12 = s[12] as number,
    a13 = s[13] as number,
    a14 = s[14] as number,
    a15 = s[15] as number,
    a16 = s[16] as number,
    a17 = s[17] as number,
    a18 = s[18] as number,
    a19 = s[19] as number,
    a20 = s[20] as number,
    a21 = s[21] as number,
    a22 = s[22] as number,
    a23 = s[23] as number,
    a24 = s[24] as number,
    a25 = s[25] as number,
    a26 = s[26] as number,
    a27 = s[27] as number,
    a28 = s[28] as number,
    a29 = s[29] as number,
    a30 = s[30] as number,
    a31 = s[31] as number,
    a32 = s[32] as number,
    a33 = s[33] as number,
    a34 = s[34] as number,
    a35 = s[35] as number,
    a36 = s[36] as number,
    a37 = s[37] as number,
    a38 = s[38] as number,
    a39 = s[39] as number,
    a40 = s[40] as number,
    a41 = s[41] as number,
    a42 = s[42] as number,
    a43 = s[43] as number,
    a44 = s[44] as number,
    a45 = s[45] as number,
    a46 = s[46] as number,
    a47 = s[47] as number,
    a48 = s[48] as number,
    a49 = s[49] as number
  let c0l = 0,
    c0h = 0,
    c1l = 0,
    c1h = 0,
    c2l = 0,
    c2h = 0,
    c3l = 0,
    c3h = 0,
    c4l = 0,
    c4h = 0,
    d0l = 0,
    d0h = 0,
    d1l = 0,
    d1h = 0,
    d2l = 0,
    d2h = 0,
    d3l = 0,
    d3h = 0,
    d4l = 0,
    d4h = 0
  let b0l = 0,
    b0h = 0,
    b1l = 0,
    b1h = 0,
    b2l = 0,
    b2h = 0,
    b3l = 0,
    b3h = 0,
    b4l = 0,
    b4h = 0,
    b5l = 0,
    b5h = 0,
    b6l = 0,
    b6h = 0,
    b7l = 0,
    b7h = 0,
    b8l = 0,
    b8h = 0,
    b9l = 0,
    b9h = 0,
    b10l = 0,
    b10h = 0,
    b11l = 0,
    b11h = 0,
    b12l = 0,
    b12h = 0,
    b13l = 0,
    b13h = 0,
    b14l = 0,
    b14h = 0,
    b15l = 0,
    b15h = 0,
    b16l = 0,
    b16h = 0,
    b17l = 0,
    b17h = 0,
    b18l = 0,
    b18h = 0,
    b19l = 0,
    b19h = 0,
    b20l = 0,
    b20h = 0,
    b21l = 0,
    b21h = 0,
    b22l = 0,
    b22h = 0,
    b23l = 0,
    b23h = 0,
    b24l = 0,
    b24h = 0
  for (let round = 0; round < 48; round += 2) {
    c0l = a0 ^ a10 ^ a20 ^ a30 ^ a40
    c0h = a1 ^ a11 ^ a21 ^ a31 ^ a41
    c1l = a2 ^ a12 ^ a22 ^ a32 ^ a42
    c1h = a3 ^ a13 ^ a23 ^ a33 ^ a43
    c2l = a4 ^ a14 ^ a24 ^ a34 ^ a44
    c2h = a5 ^ a15 ^ a25 ^ a35 ^ a45
    c3l = a6 ^ a16 ^ a26 ^ a36 ^ a46
    c3h = a7 ^ a17 ^ a27 ^ a37 ^ a47
    c4l = a8 ^ a18 ^ a28 ^ a38 ^ a48
    c4h = a9 ^ a19 ^ a29 ^ a39 ^ a49
    d0l = c4l ^ ((c1l << 1) | (c1h >>> 31))
    d0h = c4h ^ ((c1h << 1) | (c1l >>> 31))
    d1l = c0l ^ ((c2l << 1) | (c2h >>> 31))
    d1h = c0h ^ ((c2h << 1) | (c2l >>> 31))
    d2l = c1l ^ ((c3l << 1) | (c3h >>> 31))
    d2h = c1h ^ ((c3h << 1) | (c3l >>> 31))
    d3l = c2l ^ ((c4l << 1) | (c4h >>> 31))
    d3h = c2h ^ ((c4h << 1) | (c4l >>> 31))
    d4l = c3l ^ ((c0l << 1) | (c0h >>> 31))
    d4h = c3h ^ ((c0h << 1) | (c0l >>> 31))
    b0l = a0 ^ d0l
    b0h = a1 ^ d0h
    b16l = ((a11 ^ d0h) << 4) | ((a10 ^ d0l) >>> 28)
    b16h = ((a10 ^ d0l) << 4) | ((a11 ^ d0h) >>> 28)
    b7l = ((a20 ^ d0l) << 3) | ((a21 ^ d0h) >>> 29)
    b7h = ((a21 ^ d0h) << 3) | ((a20 ^ d0l) >>> 29)
    b23l = ((a31 ^ d0h) << 9) | ((a30 ^ d0l) >>> 23)
    b23h = ((a30 ^ d0l) << 9) | ((a31 ^ d0h) >>> 23)
    b14l = ((a40 ^ d0l) << 18) | ((a41 ^ d0h) >>> 14)
    b14h = ((a41 ^ d0h) << 18) | ((a40 ^ d0l) >>> 14)
    b10l = ((a2 ^ d1l) << 1) | ((a3 ^ d1h) >>> 31)
    b10h = ((a3 ^ d1h) << 1) | ((a2 ^ d1l) >>> 31)
    b1l = ((a13 ^ d1h) << 12) | ((a12 ^ d1l) >>> 20)
    b1h = ((a12 ^ d1l) << 12) | ((a13 ^ d1h) >>> 20)
    b17l = ((a22 ^ d1l) << 10) | ((a23 ^ d1h) >>> 22)
    b17h = ((a23 ^ d1h) << 10) | ((a22 ^ d1l) >>> 22)
    b8l = ((a33 ^ d1h) << 13) | ((a32 ^ d1l) >>> 19)
    b8h = ((a32 ^ d1l) << 13) | ((a33 ^ d1h) >>> 19)
    b24l = ((a42 ^ d1l) << 2) | ((a43 ^ d1h) >>> 30)
    b24h = ((a43 ^ d1h) << 2) | ((a42 ^ d1l) >>> 30)
    b20l = ((a5 ^ d2h) << 30) | ((a4 ^ d2l) >>> 2)
    b20h = ((a4 ^ d2l) << 30) | ((a5 ^ d2h) >>> 2)
    b11l = ((a14 ^ d2l) << 6) | ((a15 ^ d2h) >>> 26)
    b11h = ((a15 ^ d2h) << 6) | ((a14 ^ d2l) >>> 26)
    b2l = ((a25 ^ d2h) << 11) | ((a24 ^ d2l) >>> 21)
    b2h = ((a24 ^ d2l) << 11) | ((a25 ^ d2h) >>> 21)
    b18l = ((a34 ^ d2l) << 15) | ((a35 ^ d2h) >>> 17)
    b18h = ((a35 ^ d2h) << 15) | ((a34 ^ d2l) >>> 17)
    b9l = ((a45 ^ d2h) << 29) | ((a44 ^ d2l) >>> 3)
    b9h = ((a44 ^ d2l) << 29) | ((a45 ^ d2h) >>> 3)
    b5l = ((a6 ^ d3l) << 28) | ((a7 ^ d3h) >>> 4)
    b5h = ((a7 ^ d3h) << 28) | ((a6 ^ d3l) >>> 4)
    b21l = ((a17 ^ d3h) << 23) | ((a16 ^ d3l) >>> 9)
    b21h = ((a16 ^ d3l) << 23) | ((a17 ^ d3h) >>> 9)
    b12l = ((a26 ^ d3l) << 25) | ((a27 ^ d3h) >>> 7)
    b12h = ((a27 ^ d3h) << 25) | ((a26 ^ d3l) >>> 7)
    b3l = ((a36 ^ d3l) << 21) | ((a37 ^ d3h) >>> 11)
    b3h = ((a37 ^ d3h) << 21) | ((a36 ^ d3l) >>> 11)
    b19l = ((a47 ^ d3h) << 24) | ((a46 ^ d3l) >>> 8)
    b19h = ((a46 ^ d3l) << 24) | ((a47 ^ d3h) >>> 8)
    b15l = ((a8 ^ d4l) << 27) | ((a9 ^ d4h) >>> 5)
    b15h = ((a9 ^ d4h) << 27) | ((a8 ^ d4l) >>> 5)
    b6l = ((a18 ^ d4l) << 20) | ((a19 ^ d4h) >>> 12)
    b6h = ((a19 ^ d4h) << 20) | ((a18 ^ d4l) >>> 12)
    b22l = ((a29 ^ d4h) << 7) | ((a28 ^ d4l) >>> 25)
    b22h = ((a28 ^ d4l) << 7) | ((a29 ^ d4h) >>> 25)
    b13l = ((a38 ^ d4l) << 8) | ((a39 ^ d4h) >>> 24)
    b13h = ((a39 ^ d4h) << 8) | ((a38 ^ d4l) >>> 24)
    b4l = ((a48 ^ d4l) << 14) | ((a49 ^ d4h) >>> 18)
    b4h = ((a49 ^ d4h) << 14) | ((a48 ^ d4l) >>> 18)
    a0 = b0l ^ (~b1l & b2l)
    a1 = b0h ^ (~b1h & b2h)
    a2 = b1l ^ (~b2l & b3l)
    a3 = b1h ^ (~b2h & b3h)
    a4 = b2l ^ (~b3l & b4l)
    a5 = b2h ^ (~b3h & b4h)
    a6 = b3l ^ (~b4l & b0l)
    a7 = b3h ^ (~b4h & b0h)
    a8 = b4l ^ (~b0l & b1l)
    a9 = b4h ^ (~b0h & b1h)
    a10 = b5l ^ (~b6l & b7l)
    a11 = b5h ^ (~b6h & b7h)
    a12 = b6l ^ (~b7l & b8l)
    a13 = b6h ^ (~b7h & b8h)
    a14 = b7l ^ (~b8l & b9l)
    a15 = b7h ^ (~b8h & b9h)
    a16 = b8l ^ (~b9l & b5l)
    a17 = b8h ^ (~b9h & b5h)
    a18 = b9l ^ (~b5l & b6l)
    a19 = b9h ^ (~b5h & b6h)
    a20 = b10l ^ (~b11l & b12l)
    a21 = b10h ^ (~b11h & b12h)
    a22 = b11l ^ (~b12l & b13l)
    a23 = b11h ^ (~b12h & b13h)
    a24 = b12l ^ (~b13l & b14l)
    a25 = b12h ^ (~b13h & b14h)
    a26 = b13l ^ (~b14l & b10l)
    a27 = b13h ^ (~b14h & b10h)
    a28 = b14l ^ (~b10l & b11l)
    a29 = b14h ^ (~b10h & b11h)
    a30 = b15l ^ (~b16l & b17l)
    a31 = b15h ^ (~b16h & b17h)
    a32 = b16l ^ (~b17l & b18l)
    a33 = b16h ^ (~b17h & b18h)
    a34 = b17l ^ (~b18l & b19l)
    a35 = b17h ^ (~b18h & b19h)
    a36 = b18l ^ (~b19l & b15l)
    a37 = b18h ^ (~b19h & b15h)
    a38 = b19l ^ (~b15l & b16l)
    a39 = b19h ^ (~b15h & b16h)
    a40 = b20l ^ (~b21l & b22l)
    a41 = b20h ^ (~b21h & b22h)
    a42 = b21l ^ (~b22l & b23l)
    a43 = b21h ^ (~b22h & b23h)
    a44 = b22l ^ (~b23l & b24l)
    a45 = b22h ^ (~b23h & b24h)
    a46 = b23l ^ (~b24l & b20l)
    a47 = b23h ^ (~b24h & b20h)
    a48 = b24l ^ (~b20l & b21l)
    a49 = b24h ^ (~b20h & b21h)
    a0 ^= ROUND_CONSTANTS[round] as number
    a1 ^= ROUND_CONSTANTS[round + 1] as number
  }
  s[0] = a0
  s[1] = a1
  s[2] = a2
  s[3] = a3
  s[4] = a4
  s[5] = a5
  s[6] = a6
  s[7] = a7
  s[8] = a8
  s[9] = a9
  s[10] = a10
  s[11] = a11
  s[12] = a12
  s[13] = a13
  s[14] = a14
  s[15] = a15
  s[16] = a16
  s[17] = a17
  s[18] = a18
  s[19] = a19
  s[20] = a20
  s[21] = a21
  s[22] = a22
  s[23] = a23
  s[24] = a24
  s[25] = a25
  s[26] = a26
  s[27] = a27
  s[28] = a28
  s[29] = a29
  s[30] = a30
  s[31] = a31
  s[32] = a32
  s[33] = a33
  s[34] = a34
  s[35] = a35
  s[36] = a36
  s[37] = a37
  s[38] = a38
  s[39] = a39
  s[40] = a40
  s[41] = a41
  s[42] = a42
  s[43] = a43
  s[44] = a44
  s[45] = a45
  s[46] = a46
  s[47] = a47
  s[48] = a48
  s[49] = a49
}
