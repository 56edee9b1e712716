// Disk full (issue 12): on a real small filesystem (a tmpfs this test mounts, as root), a real Anvil mining
// blocks and a function that writes on every block, the store fills up. The engine must stay up and
// unready, log the episode once with no stack trace, take no block while it cannot write, and resume when
// space returns with every block's job run exactly once.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type EmbeddedBroker, startEmbeddedBroker } from '#pbj/actions/broker/startEmbeddedBroker.js'
import { type AnvilNode, startAnvil } from '#pbj/chain/startAnvil.js'
import type { EngineEvents } from '#pbj/core/engineEvents.js'
import { createEngine, type Engine } from '#pbj/engine/createEngine.js'
import { createHealth } from '#pbj/internal/health.js'
import { loadFunction } from '#pbj/runtime/loadFunction.js'
import { makeFunctionsDir } from '#test/fixtures/testFunctions.js'
import { recordLogs } from './helpers/recordLogs.js'

const mnt = mkdtempSync(join(tmpdir(), 'pbj-diskfull-'))
/** Why the test cannot run here, or null: it needs to mount a tmpfs. */
const cannotMount = (() => {
  if (process.getuid?.() !== 0) return 'not root: mounting a small tmpfs needs root'
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'pipe' })
    return null
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}`
  }
})()
if (cannotMount) console.warn(`diskFull.test skipped: ${cannotMount}`)

const fns = makeFunctionsDir()
let anvil: AnvilNode
let broker: EmbeddedBroker
let engine: Engine | undefined
beforeAll(async () => {
  if (cannotMount) return
  anvil = await startAnvil()
  broker = await startEmbeddedBroker()
})
afterAll(async () => {
  await engine?.stop()
  await broker?.close()
  await anvil?.stop()
  fns.remove()
  if (!cannotMount) execFileSync('umount', [mnt])
  rmSync(mnt, { recursive: true, force: true })
})

/** Writes zeros into `file` until the filesystem refuses: big chunks first, then pages. */
function fillDisk(file: string): number {
  const fd = openSync(file, 'w')
  let written = 0
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 512]) {
      const chunk = Buffer.alloc(size)
      for (;;) {
        try {
          written += writeSync(fd, chunk)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw e
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return written
}

describe.skipIf(cannotMount !== null)('disk full', () => {
  it('stays up and unready while the disk is full, then resumes with every block run exactly once', async () => {
    const file = fns.write(
      'tick',
      `export default defineFunction({
        trigger: { type: 'blocks', every: 1 },
        async handler(ctx) {
          await ctx.kv.set('b' + ctx.block.number, { pad: 'x'.repeat(2000), n: String(ctx.block.number) })
        },
      })`,
    )
    const logs = recordLogs()
    const errors: unknown[] = []
    engine = await createEngine({
      rpcUrl: anvil.wsUrl,
      brokerUrl: broker.url,
      database: join(mnt, 'pbj.db'),
      functions: [await loadFunction(file)],
      logger: logs.logger,
      // A run whose kv write waits out the episode must not time out meanwhile.
      limits: { timeoutMs: 120_000 },
    })
    engine.events.on('error', (e) => errors.push(e))
    const runs: EngineEvents['run'][] = []
    const blocks: bigint[] = []
    engine.events.on('run', (r) => runs.push(r))
    engine.events.on('block', (b) => blocks.push(b.number))
    await engine.start()
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    const mine = async (n: number) => {
      for (let i = 0; i < n; i++) await test.mine({ blocks: 1 })
    }
    await mine(3)
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 })
    expect(engine.health.report().checks.store?.ok).toBe(true)

    const filler = join(mnt, 'filler')
    expect(fillDisk(filler)).toBeGreaterThan(0)
    // Blocks keep coming; the store's writes soon have no room.
    await vi.waitFor(
      async () => {
        await mine(1)
        expect(engine?.health.report().checks.store?.ok).toBe(false)
      },
      { timeout: 30_000, interval: 100 },
    )
    const store = engine.health.report().checks.store
    expect(store?.detail).toMatch(/^disk full: /)
    expect(engine.health.report().ready).toBe(false)
    // While full: more blocks arrive, none is committed (the follower waits in its commit, the cursor
    // unmoved), and the engine stays up.
    const blocksAtFull = blocks.length
    const cursorAtFull = (await engine.store.getCursor(engine.chainId))?.number
    await mine(5)
    await new Promise((r) => setTimeout(r, 2_500))
    expect(blocks.length).toBe(blocksAtFull)
    expect((await engine.store.getCursor(engine.chainId))?.number).toBe(cursorAtFull)
    expect(engine.health.report().checks.store?.ok).toBe(false)

    // One error for the episode, flagged, no stack trace; nothing else went wrong.
    const diskFull = logs.records.filter((r) => r.fields.diskFull === true)
    expect(diskFull).toHaveLength(1)
    expect(diskFull[0]?.level).toBe('error')
    expect(diskFull[0]?.message).toContain(mnt)
    expect(diskFull[0]?.fields.hint).toContain(`Free space at ${mnt}`)
    const text = JSON.stringify(logs.records)
    expect(text).not.toMatch(/\\n\s+at /)
    expect(text).not.toContain('SqliteError')
    expect(errors).toEqual([])

    // Space returns: the store is writable again, the waiting blocks are taken, and more after them.
    unlinkSync(filler)
    await vi.waitFor(() => expect(engine?.health.report().checks.store?.ok).toBe(true), {
      timeout: 15_000,
      interval: 100,
    })
    expect(logs.records.some((r) => r.message === 'store writable again')).toBe(true)
    await mine(3)
    const last = await createPublicClient({ transport: http(anvil.rpcUrl) }).getBlockNumber({ cacheTime: 0 })
    await vi.waitFor(() => expect(blocks.at(-1)).toBe(last), { timeout: 20_000 })
    await engine.idle()

    // Every block from the first taken to the head: taken once, its job run once, and run ok.
    const first = blocks[0] as bigint
    const expected = Array.from({ length: Number(last - first) + 1 }, (_, i) => first + BigInt(i))
    expect(blocks).toEqual(expected)
    const perBlock = new Map<bigint, number>()
    for (const r of runs) perBlock.set(r.blockNumber, (perBlock.get(r.blockNumber) ?? 0) + 1)
    expect([...perBlock.keys()].sort((a, b) => Number(a - b))).toEqual(expected)
    expect([...perBlock.values()].every((n) => n === 1)).toBe(true)
    expect(runs.every((r) => r.run.status === 'ok')).toBe(true)
    const stored = await engine.store.listRuns({ functionName: 'tick', limit: 10_000 })
    expect(stored).toHaveLength(expected.length)
    expect(stored.every((r) => r.status === 'ok')).toBe(true)
    for (const n of expected) expect(await engine.store.kvGet('tick', `b${n}`)).not.toBeNull()
    expect(diskFull).toHaveLength(1)
    await engine.stop()
    engine = undefined
  }, 90_000)

  it('a start-up on a full disk waits for space, unready, instead of throwing', async () => {
    const filler = join(mnt, 'filler')
    fillDisk(filler)
    const file = fns.write(
      'idle',
      `export default defineFunction({ trigger: { type: 'blocks', every: 1 }, handler() {} })`,
    )
    const health = createHealth()
    const logs = recordLogs()
    let settled: 'resolved' | 'rejected' | null = null
    const starting = createEngine({
      rpcUrl: anvil.wsUrl,
      brokerUrl: broker.url,
      database: join(mnt, 'fresh', 'pbj.db'),
      functions: [await loadFunction(file)],
      logger: logs.logger,
      health,
    }).then(
      (e) => {
        settled = 'resolved'
        return e
      },
      (e: unknown) => {
        settled = 'rejected'
        throw e
      },
    )
    await vi.waitFor(() => expect(health.report().checks.store?.ok).toBe(false), { timeout: 10_000 })
    await new Promise((r) => setTimeout(r, 1_500))
    expect(settled).toBeNull()
    expect(health.report().checks.store?.detail).toMatch(/^disk full: /)
    expect(logs.records.filter((r) => r.fields.diskFull === true)).toHaveLength(1)
    unlinkSync(filler)
    engine = await starting
    expect(health.report().checks.store?.ok).toBe(true)
    expect(engine.health).toBe(health)
    const runs: EngineEvents['run'][] = []
    engine.events.on('run', (r) => runs.push(r))
    await engine.start()
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 1 })
    await vi.waitFor(() => expect(runs.length).toBeGreaterThan(0), { timeout: 10_000 })
    await engine.stop()
    engine = undefined
  }, 60_000)
})
