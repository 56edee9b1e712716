import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import { createTypedHashes, type PbjDomain, type ReportedMessage, recoverSigner } from '@pbj/device'

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

// The worker is plain CommonJS evaluated from this string: a worker thread cannot load TypeScript here, and
// the recovery is the same few lines as recoverSigner (a test holds the two to the same answers).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { secp256k1 } = require(workerData.curves)
const { keccak_256 } = require(workerData.sha3)
const hex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
function recover(digest, signature) {
  try {
    const v = signature[64]
    const bit = v >= 27 ? v - 27 : v
    if (signature.length !== 65 || (bit !== 0 && bit !== 1)) return null
    const parsed = secp256k1.Signature.fromCompact(signature.subarray(0, 64))
    if (parsed.hasHighS()) return null
    const key = parsed.addRecoveryBit(bit).recoverPublicKey(digest).toRawBytes(false)
    return '0x' + hex(keccak_256(key.subarray(1)).subarray(12))
  } catch {
    return null
  }
}
parentPort.on('message', (jobs) =>
  parentPort.postMessage(jobs.map((job) => ({ id: job.id, signer: recover(job.digest, job.signature) }))),
)
`

/**
 * Verifies device reports (EIP-712 `Report`, signed with the car's own key) before the engine counts them.
 * A public-key recovery costs ~1.8 ms of pure-JS CPU, so a thousand cars acknowledging at once would hold
 * the engine's event loop for ~2 s: the recoveries run in a worker thread, handed over in batches (all
 * reports that arrived in one read), and the engine keeps following blocks and publishing meanwhile. A
 * report whose digest and signature equal the device's last verified one (its retained report, sent again
 * at every reconnect) is not recovered again. If the worker fails, recovery falls back to this thread:
 * slower, never skipped.
 *
 * @example
 * const verifier = createReportVerifier({ domain: pbjDomain({ chainId, registry }) })
 * const why = await verifier.verify(report)
 * if (why !== null) warn(`dropped report: ${why}`)
 */
export function createReportVerifier(options: {
  domain: PbjDomain
  /** Recover in this thread instead of a worker (for comparisons). Default false. */
  inline?: boolean
}): ReportVerifier {
  const hashes = createTypedHashes(options.domain)
  const lastVerified = new Map<string, string>()
  const waiting = new Map<number, Waiting>()
  let batch: Job[] = []
  let nextId = 0
  let worker: Worker | null = null
  let failures = 0
  let closed = false

  const settleInline = (ids: Iterable<number>) => {
    for (const id of ids) {
      const job = waiting.get(id)
      if (!job) continue
      waiting.delete(id)
      job.resolve(recoverSigner(job.digest, job.signature))
    }
  }

  const startWorker = (): Worker | null => {
    // A worker that keeps dying is given up on: this thread recovers from then on.
    if (options.inline || closed || failures >= 3) return null
    if (worker) return worker
    const require = createRequire(import.meta.url)
    const started = new Worker(workerSource, {
      eval: true,
      workerData: {
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

  const flush = () => {
    const jobs = batch
    batch = []
    const target = startWorker()
    if (target) target.postMessage(jobs)
    else settleInline(jobs.map((job) => job.id))
  }

  return {
    async verify(report, signedState = report.state) {
      const { signature, ...unsigned } = report
      const digest = hashes.reportDigest({ ...unsigned, state: signedState })
      const key = `${bytesToHex(digest)}:${signature}`
      if (lastVerified.get(report.deviceId) === key) return null
      const signer = await new Promise<string | null>((resolve) => {
        const id = nextId++
        waiting.set(id, { digest, signature, resolve })
        if (batch.length === 0) queueMicrotask(flush)
        batch.push({ id, digest, signature: hexToBytes(signature.slice(2)) })
      })
      if (signer === report.deviceId) {
        lastVerified.set(report.deviceId, key)
        return null
      }
      return signer === null
        ? 'its signature is not a valid secp256k1 signature'
        : `it is signed by ${signer}, not by the device`
    },
    async close() {
      closed = true
      const stopping = worker
      worker = null
      settleInline([...waiting.keys()])
      await stopping?.terminate()
    },
  }
}
