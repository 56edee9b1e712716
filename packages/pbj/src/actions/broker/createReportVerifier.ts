import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import {
  createTypedHashes,
  type PbjDomain,
  type ReportedMessage,
  recoverSigner,
  secp256k1Backend,
} from '@pbj/device'

/**
 * Checks that device reports come from their device. See {@link createReportVerifier}.
 *
 * @example
 * const why = await verifier.verify(report) // null when the car signed it
 */
export type ReportVerifier = {
  /**
   * Resolves null when the report's signature recovers to its `deviceId`, else the reason it does not.
   * `signedState`: the state as it came off the wire (unknown keys included); defaults to `report.state`.
   */
  verify(report: ReportedMessage, signedState?: unknown): Promise<string | null>
  close(): Promise<void>
}

type Job = { id: number; digest: Uint8Array; signature: Uint8Array }
type Waiting = { digest: Uint8Array; signature: string; resolve: (signer: string | null) => void }
type Received = {
  report: ReportedMessage
  signedState: unknown
  resolve: (why: string | null) => void
  reject: (error: unknown) => void
}

/**
 * Longest stretch the event loop is held hashing and verifying reports before it yields: ~50 reports with
 * libsecp256k1, two or three in pure JS. A thousand reports then hold the loop ~5 ms at a time, not ~100 ms
 * at once.
 */
const SLICE_MS = 5

/**
 * Reports waiting at once from which libsecp256k1's recoveries go to the worker. One report (one car's
 * answer) is recovered here: ~50–100 µs, less than a thread hop. A burst (a fleet's block: a thousand
 * reports, ~0.1–0.25 ms of this thread each) goes to the worker, so the engine's thread is left to publish
 * the block's commands and record the reports while the other core checks them.
 */
const WORKER_FROM = 8

// The worker is plain CommonJS evaluated from this string: a worker thread cannot load TypeScript here. Its
// checks are parseSignature's and its recovery the backend's, as recoverSigner does them (a test holds the
// two to the same answers on genuine, forged and malformed signatures).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { keccak_256 } = require(workerData.sha3)
const native = workerData.native ? require(workerData.native) : null
const noble = native ? null : require(workerData.curves).secp256k1
const ORDER = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex')
const HALF_ORDER = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex')
const ZERO = Buffer.alloc(32)
const view = (bytes, from, to) => Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from)
function recover(digest, signature) {
  if (signature.length !== 65) return null
  const v = signature[64]
  const bit = v >= 27 ? v - 27 : v
  if (bit !== 0 && bit !== 1) return null
  const r = view(signature, 0, 32)
  const s = view(signature, 32, 64)
  if (r.equals(ZERO) || Buffer.compare(r, ORDER) >= 0) return null
  if (s.equals(ZERO) || Buffer.compare(s, HALF_ORDER) > 0) return null
  try {
    const compact = signature.subarray(0, 64)
    const key = native
      ? native.ecdsaRecover(compact, bit, digest, false)
      : noble.Signature.fromCompact(compact).addRecoveryBit(bit).recoverPublicKey(digest).toRawBytes(false)
    return '0x' + view(keccak_256(key.subarray(1)), 12, 32).toString('hex')
  } catch {
    return null
  }
}
parentPort.on('message', (jobs) =>
  parentPort.postMessage(jobs.map((job) => ({ id: job.id, signer: recover(job.digest, job.signature) }))),
)
`

/**
 * Verifies device reports (EIP-712 `Report`, signed with the car's own key) before the engine counts them,
 * without holding the engine's event loop: it keeps following blocks and publishing meanwhile. Reports are
 * taken in slices of at most ~5 ms, hashing included (a thousand arriving in one read are ~35 ms of keccak
 * alone), yielding to the loop between slices. With libsecp256k1 (the usual backend; see secp256k1Backend)
 * a public-key recovery costs ~70 µs, ~80 ms a thousand, and is done in those slices: measured on the
 * shared 2-core machine (six rounds of a thousand, load ~10), a worker thread was no faster (median 537 ms
 * against 332 ms inline) and held the loop no less (46 ms against 43 ms, both the scheduler's doing), so it
 * is not worth a second copy of the checks. In pure JS a recovery costs ~1.8 ms, ~2 s a thousand: the
 * recoveries then run in a worker thread, handed over a slice at a time. A report whose digest and signature
 * equal the device's last verified one (its retained report, sent again at every reconnect) is not recovered
 * again. If the worker fails, recovery falls back to this thread: slower, never skipped.
 *
 * @example
 * const verifier = createReportVerifier({ domain: pbjDomain({ chainId, registry }) })
 * const why = await verifier.verify(report)
 * if (why !== null) warn(`dropped report: ${why}`)
 */
export function createReportVerifier(options: {
  domain: PbjDomain
  /**
   * Recover always in this thread (true) or always in a worker (false), for comparisons. Default: with
   * libsecp256k1, in this thread unless {@link WORKER_FROM} or more reports wait; with the pure-JS backend,
   * in a worker.
   */
  inline?: boolean
}): ReportVerifier {
  const hashes = createTypedHashes(options.domain)
  const hasNative = secp256k1Backend() === 'native'
  const inline = options.inline ?? false
  const burstsOnly = options.inline === undefined && hasNative
  const lastVerified = new Map<string, string>()
  const received: Received[] = []
  const waiting = new Map<number, Waiting>()
  let batch: Job[] = []
  let nextId = 0
  let worker: Worker | null = null
  let failures = 0
  let closed = false

  const settle = (id: number) => {
    const job = waiting.get(id)
    if (!job) return
    waiting.delete(id)
    job.resolve(recoverSigner(job.digest, job.signature))
  }

  // In slices of SLICE_MS, yielding to the event loop between them. Jobs settled meanwhile (by close) are
  // skipped.
  const settleInline = (ids: readonly number[]) => {
    let next = 0
    const slice = () => {
      const until = performance.now() + SLICE_MS
      do settle(ids[next++] as number)
      while (next < ids.length && performance.now() < until)
      if (next < ids.length) setImmediate(slice)
    }
    if (ids.length > 0) slice()
  }

  const startWorker = (): Worker | null => {
    // A worker that keeps dying is given up on: this thread recovers from then on.
    if (inline || closed || failures >= 3) return null
    if (worker) return worker
    const require = createRequire(import.meta.url)
    // The binding as @pbj/device resolves it, so that both threads use the same backend.
    const native =
      secp256k1Backend() === 'native'
        ? createRequire(require.resolve('@pbj/device')).resolve('secp256k1/bindings')
        : null
    const started = new Worker(workerSource, {
      eval: true,
      workerData: {
        native,
        curves: require.resolve('@noble/curves/secp256k1'),
        sha3: require.resolve('@noble/hashes/sha3'),
      },
    })
    started.unref()
    started.on('message', (results: { id: number; signer: string | null }[]) => {
      for (const { id, signer } of results) {
        const job = waiting.get(id)
        waiting.delete(id)
        job?.resolve(signer)
      }
    })
    const fail = () => {
      if (worker !== started) return
      worker = null
      if (!closed) failures++
      settleInline([...waiting.keys()])
    }
    started.on('error', fail)
    started.on('exit', fail)
    worker = started
    return started
  }

  /** Hashes one report and, unless it is the device's last verified one, recovers its signer or queues it. */
  const check = ({ report, signedState, resolve, reject }: Received, now: boolean) => {
    try {
      const { signature, ...unsigned } = report
      const digest = hashes.reportDigest({ ...unsigned, state: signedState })
      const key = `${bytesToHex(digest)}:${signature}`
      if (lastVerified.get(report.deviceId) === key) return resolve(null)
      const decide = (signer: string | null) => {
        if (signer === report.deviceId) {
          lastVerified.set(report.deviceId, key)
          return resolve(null)
        }
        resolve(
          signer === null
            ? 'its signature is not a valid secp256k1 signature'
            : `it is signed by ${signer}, not by the device`,
        )
      }
      if (now) return decide(recoverSigner(digest, signature))
      const id = nextId++
      waiting.set(id, { digest, signature, resolve: decide })
      batch.push({ id, digest, signature: hexToBytes(signature.slice(2)) })
    } catch (error) {
      reject(error)
    }
  }

  // Hashing is sliced too, not only recovery: a thousand reports arriving in one read are ~35 ms of keccak.
  const take = () => {
    if (received.length === 0) return // close took them
    const until = performance.now() + SLICE_MS
    const here = inline || (burstsOnly && received.length < WORKER_FROM)
    let taken = 0
    do check(received[taken++] as Received, here)
    while (taken < received.length && performance.now() < until)
    received.splice(0, taken)
    if (batch.length > 0) {
      const jobs = batch
      batch = []
      const target = startWorker()
      if (target) target.postMessage(jobs)
      else settleInline(jobs.map((job) => job.id))
    }
    if (received.length > 0) setImmediate(take)
  }

  return {
    verify(report, signedState = report.state) {
      return new Promise((resolve, reject) => {
        if (closed) return check({ report, signedState, resolve, reject }, true)
        // The first report of a read starts a slice once this tick's synchronous work is done.
        if (received.length === 0) queueMicrotask(take)
        received.push({ report, signedState, resolve, reject })
      })
    },
    async close() {
      closed = true
      const stopping = worker
      worker = null
      // Whatever is still queued or waiting is settled now, at once: close does not return before its verdicts.
      for (const item of received.splice(0)) check(item, true)
      for (const id of [...waiting.keys()]) settle(id)
      await stopping?.terminate()
    },
  }
}
