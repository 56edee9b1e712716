/**
 * How fast can Anvil hand over a catch-up's logs, in each request shape? Opens `--loans` (default 100k)
 * LoanOpened over blocks of `--per-block` (default 1,000, the quick growth bench's), then times: eth_getLogs
 * over spans of blocks (with and without an address filter), per block by blockHash, eth_getBlockReceipts,
 * N requests at once, over HTTP and WebSocket. For each shape: logs/s of wall time (each request's answer
 * received whole and JSON-parsed) and Anvil's CPU per 1,000 logs (/proc), so a loaded machine's figures
 * can still be compared.
 *
 * @example
 * node --no-node-snapshot --import tsx bench/growth/probeLogShapes.ts --loans=100000 --per-block=1000
 * node --no-node-snapshot --import tsx bench/growth/probeLogShapes.ts --per-block=200 --spans=1,5,25 --ws-only
 */
import WebSocket from 'ws'
import { startAnvil } from '#pbj/chain/startAnvil.js'
import { ownCpuUs, processCpuUs } from '../lib/cpuTime.js'
import { compileLoanFlood } from './compileLoanFlood.js'
import { deployLoanFlood } from './deployLoanFlood.js'

const arg = (name: string, fallback: number) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`))
  return found ? Number(found.slice(name.length + 3)) : fallback
}
const loans = arg('loans', 100_000)
const perBlock = arg('per-block', 1_000)

const anvil = await startAnvil()
try {
  const flood = await deployLoanFlood(anvil.rpcUrl, await compileLoanFlood())
  const start = await flood.head()
  const far = { nextDueAt: 10n ** 10n, warnAt: 10n ** 10n, finalWarningAt: 10n ** 10n, lockAt: 10n ** 10n }
  for (let first = 1; first <= loans; first += perBlock)
    await flood.open(BigInt(first), Math.min(perBlock, loans - first + 1), far)
  const head = await flood.head()
  const from = start.number + 1n
  const to = head.number
  const hex = (n: bigint) => `0x${n.toString(16)}`
  process.stderr.write(`${loans} logs in blocks ${from}–${to}\n`)

  let id = 0
  const overHttp = async (method: string, params: unknown[]) => {
    const response = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    })
    const text = await response.text()
    return { bytes: text.length, result: (JSON.parse(text) as { result: unknown }).result }
  }
  const socket = new WebSocket(anvil.wsUrl, { maxPayload: 2 ** 31 })
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  const pending = new Map<number, (v: { bytes: number; result: unknown }) => void>()
  socket.on('message', (data: Buffer) => {
    const text = data.toString()
    const message = JSON.parse(text) as { id: number; result: unknown }
    pending.get(message.id)?.({ bytes: text.length, result: message.result })
    pending.delete(message.id)
  })
  const overWs = (method: string, params: unknown[]) =>
    new Promise<{ bytes: number; result: unknown }>((resolve) => {
      const n = ++id
      pending.set(n, resolve)
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }))
    })

  const hashes: string[] = []
  for (let n = from; n <= to; n++)
    hashes.push(((await overHttp('eth_getBlockByNumber', [hex(n), false])).result as { hash: string }).hash)

  type Call = (method: string, params: unknown[]) => Promise<{ bytes: number; result: unknown }>
  /** Runs `requests` (each makes one call) `concurrency` at a time; returns logs/s and Anvil CPU. */
  const measure = async (
    name: string,
    requests: ((call: Call) => Promise<{ bytes: number; result: unknown }>)[],
    call: Call,
    concurrency: number,
    count: (result: unknown) => number,
  ) => {
    const anvilBefore = processCpuUs(anvil.pid) ?? 0
    const ownBefore = ownCpuUs()
    const started = performance.now()
    let next = 0
    let logs = 0
    let bytes = 0
    const worker = async () => {
      while (next < requests.length) {
        const request = requests[next++] as (typeof requests)[number]
        const answer = await request(call)
        logs += count(answer.result)
        bytes += answer.bytes
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    const seconds = (performance.now() - started) / 1000
    const anvilMs = ((processCpuUs(anvil.pid) ?? 0) - anvilBefore) / 1000
    const ownMs = (ownCpuUs() - ownBefore) / 1000
    const row = {
      name,
      concurrency,
      requests: requests.length,
      logs,
      logsPerSec: Math.round(logs / seconds),
      anvilCpuMsPer1kLogs: Math.round((anvilMs / logs) * 1000 * 100) / 100,
      clientCpuMsPer1kLogs: Math.round((ownMs / logs) * 1000 * 100) / 100,
      bytesPerLog: Math.round(bytes / logs),
    }
    process.stderr.write(`${JSON.stringify(row)}\n`)
    return row
  }
  const address = flood.address
  const ranges = (span: bigint, withAddress: boolean) => {
    const out: ((call: Call) => Promise<{ bytes: number; result: unknown }>)[] = []
    for (let a = from; a <= to; a += span) {
      const b = a + span - 1n > to ? to : a + span - 1n
      out.push((call) =>
        call('eth_getLogs', [
          { fromBlock: hex(a), toBlock: hex(b), ...(withAddress ? { address: [address] } : {}) },
        ]),
      )
    }
    return out
  }
  const length = (r: unknown) => (r as unknown[]).length
  const receiptLogs = (r: unknown) =>
    (r as { logs: unknown[] }[]).reduce((sum, receipt) => sum + receipt.logs.length, 0)
  const rows = []
  const spansArg = process.argv.find((a) => a.startsWith('--spans='))
  const spans = spansArg ? spansArg.slice(8).split(',').map(BigInt) : [1n, 5n, 10n, 25n]
  const wsOnly = process.argv.includes('--ws-only')
  for (const [transport, call] of [
    ['ws', overWs],
    ['http', overHttp],
  ] as const) {
    if (wsOnly && transport === 'http') break
    for (const span of spans) {
      for (const c of wsOnly ? [1, 2] : [1, 2, 4])
        rows.push(
          await measure(`${transport} getLogs span ${span} address`, ranges(span, true), call, c, length),
        )
    }
    rows.push(await measure(`${transport} getLogs span 5 no address`, ranges(5n, false), call, 2, length))
    for (const c of [1, 2, 4])
      rows.push(
        await measure(
          `${transport} getLogs blockHash`,
          hashes.map((h) => (call2: Call) => call2('eth_getLogs', [{ blockHash: h, address: [address] }])),
          call,
          c,
          length,
        ),
      )
    for (const c of [1, 2])
      rows.push(
        await measure(
          `${transport} getBlockReceipts`,
          hashes.map((h) => (call2: Call) => call2('eth_getBlockReceipts', [h])),
          call,
          c,
          receiptLogs,
        ),
      )
  }
  socket.close()
  process.stdout.write(`${JSON.stringify(rows)}\n`)
} finally {
  await anvil.stop()
}
