import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createChainConnection } from '../../chain/createChainConnection.js'
import { type AnvilNode, startAnvil } from '../../chain/startAnvil.js'
import type { ChainConnection } from '../../chain/types.js'
import type { DeviceDesired } from '../../core/device.js'
import type { EngineEvents } from '../../core/engineEvents.js'
import type { Store } from '../../core/store.js'
import { createEmitter } from '../../internal/createEmitter.js'
import { createSqliteStore } from '../../store/sqlite/createSqliteStore.js'
import { createChainReconciler } from './createChainReconciler.js'
import type { DeviceAction, DeviceClass, DeviceRequest } from './deviceClass.js'

// The passes' scheduling and bookkeeping on a real Anvil (the head block) and a real SQLite store. What
// "the chain says" comes from a test device class: the immobilizer's real reads are in test/reconcile.test.ts.

let anvil: AnvilNode
let chain: ChainConnection
beforeAll(async () => {
  anvil = await startAnvil()
  chain = await createChainConnection({ rpcUrl: anvil.rpcUrl })
})
afterAll(async () => {
  await chain?.close()
  await anvil?.stop()
})

const call = (action: DeviceAction): DeviceRequest => ({ action, method: 'reconcile', options: {} })

/** A device class whose chain is a map, whose guard refuses the devices in `refuse`, and whose reads can be held. */
/** Waits until a pass is inside the held device read (a fixed sleep is not enough on a loaded machine). */
async function heldInside(t: { asked: string[] }, askedBefore = 0) {
  for (let waited = 0; t.asked.length <= askedBefore; waited += 5) {
    if (waited > 5_000) throw new Error('no pass reached the held device read within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function testClass() {
  const says = new Map<string, DeviceAction | null>()
  const changes = new Map<string, bigint>()
  const refuse = new Set<string>()
  const broken = new Set<string>()
  let hold: Promise<void> | null = null
  const asked: string[] = []
  const deviceClass: DeviceClass = {
    name: 'switch',
    async guard(command) {
      return refuse.has(command.deviceId)
        ? { ok: false, reason: 'not-allowed', message: `${command.deviceId} is not ours to switch` }
        : { ok: true }
    },
    toDesired: ({ action, options }) => ({
      locked: action === 'lock',
      ...(options.reason ? { reason: options.reason } : {}),
    }),
    async desiredFromChain(deviceId) {
      asked.push(deviceId)
      if (hold) await hold
      if (broken.has(deviceId)) throw new Error(`cannot read ${deviceId}`)
      const action = says.get(deviceId)
      const changesAt = changes.get(deviceId)
      return action ? { ...call(action), ...(changesAt === undefined ? {} : { changesAt }) } : null
    },
    async listDevices() {
      return [...says.keys()].map((id) => id.toUpperCase())
    },
  }
  return {
    deviceClass,
    says,
    changes,
    refuse,
    broken,
    asked,
    hold(until: Promise<void>) {
      hold = until
    },
  }
}

describe('createChainReconciler', () => {
  let store: Store
  const warnings: string[] = []
  afterEach(async () => {
    await store?.close()
    warnings.length = 0
  })

  function setUp(t: ReturnType<typeof testClass>) {
    store = createSqliteStore({ path: ':memory:' })
    const events = createEmitter<EngineEvents>()
    const dispatched: string[] = []
    const corrected: EngineEvents['device:corrected'][] = []
    const passes: EngineEvents['reconciled'][] = []
    events.on('device:corrected', (c) => corrected.push(c))
    events.on('reconciled', (r) => passes.push(r))
    const reconciler = createChainReconciler({
      services: {
        chain,
        store,
        events,
        logger: { info() {}, warn: (message) => warnings.push(message) },
        contracts: {},
        deviceClass: t.deviceClass,
        operator: null,
        dispatcher: { dispatch: (id) => void dispatched.push(id) },
      },
      intervalMs: 0,
    })
    return { reconciler, dispatched, corrected, passes }
  }

  const set = (id: string, desired: DeviceDesired) =>
    store.setDesired(id, desired, `${id}:${Math.random()}`, 1)

  it('corrects by meaning only, leaves devices the chain says nothing of, and reaches devices only the chain lists', async () => {
    const t = testClass()
    const { reconciler, dispatched, corrected } = setUp(t)
    await set('0xa', { locked: false, reason: 'paid' }) // chain: lock → corrected
    await set('0xb', { locked: true, reason: 'something else' }) // chain: lock → same meaning
    await set('0xc', { locked: true }) // chain says nothing → left alone
    t.says.set('0xa', 'lock').set('0xb', 'lock').set('0xc', null)
    t.says.set('0xd', 'lock') // never in the store: listed by the class, in any case
    t.says.set('0xe', 'unlock') // never in the store, never commanded: already unlocked

    const summary = await reconciler.reconcile('manual')
    expect(summary).toMatchObject({ reason: 'manual', devices: 5, corrected: 2, refused: 0, failed: 0 })
    expect(summary?.atBlock).toBe(await chain.getHeader('latest').then((h) => h.number))
    expect(corrected.map((c) => [c.deviceId, c.reason, 'from' in c ? `${c.from}→${c.to}` : ''])).toEqual([
      ['0xa', 'chain', 'unlocked→locked'],
      ['0xd', 'chain', 'unlocked→locked'],
    ])
    expect(dispatched.sort()).toEqual(['0xa', '0xd'])
    expect(await store.getDevice('0xb')).toMatchObject({
      desiredVersion: 1,
      desired: { reason: 'something else' },
    })
    expect(await store.getDevice('0xc')).toMatchObject({ desiredVersion: 1 })
    expect(await store.getDevice('0xe')).toBeNull()
    expect((await store.deviceCorrections.list()).map((c) => [c.deviceId, c.outcome, c.version])).toEqual(
      expect.arrayContaining([
        ['0xa', 'corrected', 2],
        ['0xd', 'corrected', 1],
      ]),
    )
  })

  it('runs one pass at a time: asked while one runs, it runs once more after it, for every caller', async () => {
    const t = testClass()
    const { reconciler, passes } = setUp(t)
    t.says.set('0xa', 'lock')
    let release = () => {}
    t.hold(new Promise<void>((resolve) => (release = resolve)))
    const first = reconciler.reconcile('start')
    await heldInside(t)
    const second = reconciler.reconcile('reorg')
    const third = reconciler.reconcile('periodic')
    expect(t.asked).toEqual(['0xa'])
    release()
    const [a, b, c] = await Promise.all([first, second, third])
    expect(a).toMatchObject({ reason: 'start', corrected: 1 })
    expect(b).toMatchObject({ reason: 'reorg', corrected: 0 })
    expect(c).toBe(b)
    expect(passes.map((p) => p.reason)).toEqual(['start', 'reorg'])
    expect(t.asked).toEqual(['0xa', '0xa'])
  })

  it('records a refusal once while it repeats, never forcing it, and counts devices it cannot read as failed', async () => {
    const t = testClass()
    const { reconciler, dispatched } = setUp(t)
    await set('0xa', { locked: false })
    await set('0xb', { locked: false })
    t.says.set('0xa', 'lock').set('0xb', 'lock')
    t.refuse.add('0xa')
    t.broken.add('0xb')
    expect(await reconciler.reconcile('periodic')).toMatchObject({ corrected: 0, refused: 1, failed: 1 })
    expect(await reconciler.reconcile('periodic')).toMatchObject({ corrected: 0, refused: 1, failed: 1 })
    expect(await store.deviceCorrections.list()).toEqual([
      expect.objectContaining({
        deviceId: '0xa',
        outcome: 'refused',
        detail: 'not-allowed: lock of 0xa refused by the switch guard at block 0: 0xa is not ours to switch',
      }),
    ])
    expect(await store.getDevice('0xa')).toMatchObject({ desiredVersion: 1, desired: { locked: false } })
    expect(dispatched).toEqual([])
    expect(warnings.filter((w) => w.includes('could not be reconciled'))).toHaveLength(2)
    expect(warnings.at(-1)).toContain('cannot read 0xb')
  })

  it('re-checks just the devices whose answer was due to change, at the first block time that reaches it', async () => {
    const t = testClass()
    const { reconciler, passes, corrected } = setUp(t)
    await set('0xa', { locked: false })
    await set('0xb', { locked: false })
    await set('0xc', { locked: false })
    t.says.set('0xa', 'unlock').set('0xb', 'unlock').set('0xc', 'unlock')
    t.changes.set('0xa', 1_000n).set('0xb', 2_000n) // 0xc: never by itself
    reconciler.onBlockTime(10n)
    expect(await reconciler.reconcile('start')).toMatchObject({ devices: 3, corrected: 0 })
    t.asked.length = 0

    // the chain's answer for 0xa changes at its time: a block before it re-checks nothing
    t.says.set('0xa', 'lock')
    t.changes.delete('0xa')
    reconciler.onBlockTime(999n)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(t.asked).toEqual([])
    reconciler.onBlockTime(1_500n)
    await expect.poll(() => passes.length).toBe(2)
    expect(passes[1]).toMatchObject({ reason: 'scheduled', devices: 1, corrected: 1 })
    expect(t.asked).toEqual(['0xa'])
    expect(corrected.at(-1)).toMatchObject({ deviceId: '0xa', reason: 'chain', trigger: 'scheduled' })
    expect(await store.deviceCorrections.list({ deviceId: '0xa' })).toEqual([
      expect.objectContaining({ reason: 'scheduled', outcome: 'corrected', from: 'unlocked', to: 'locked' }),
    ])
    // 0xa has no next change now; 0xb's comes; a time already passed at the last block is not kept
    t.changes.set('0xb', 1_200n)
    reconciler.onBlockTime(2_000n)
    await expect.poll(() => passes.length).toBe(3)
    expect(t.asked).toEqual(['0xa', '0xb'])
    reconciler.onBlockTime(5_000n)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(passes).toHaveLength(3)
  })

  it('lets a full pass asked while a scheduled one waits take its place', async () => {
    const t = testClass()
    const { reconciler, passes } = setUp(t)
    t.says.set('0xa', 'unlock')
    t.changes.set('0xa', 100n)
    await reconciler.reconcile('start')
    const askedBefore = t.asked.length
    let release = () => {}
    t.hold(new Promise<void>((resolve) => (release = resolve)))
    const first = reconciler.reconcile('manual')
    await heldInside(t, askedBefore)
    reconciler.onBlockTime(200n) // queued: scheduled
    const full = reconciler.reconcile('reorg') // replaces it
    release()
    await first
    expect(await full).toMatchObject({ reason: 'reorg', devices: 1 })
    expect(passes.map((p) => p.reason)).toEqual(['start', 'manual', 'reorg'])
  })

  it('stops between devices when closed, and runs nothing after', async () => {
    const t = testClass()
    const { reconciler, passes } = setUp(t)
    t.says.set('0xa', 'lock')
    let release = () => {}
    t.hold(new Promise<void>((resolve) => (release = resolve)))
    const running = reconciler.reconcile('manual')
    await heldInside(t)
    const closed = reconciler.close()
    release()
    await closed
    expect(await running).toMatchObject({ corrected: 1 })
    expect(await reconciler.reconcile('manual')).toBeNull()
    expect(passes).toHaveLength(1)
  })
})
