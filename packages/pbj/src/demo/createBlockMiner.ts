import type { PublicClient, TestClient } from 'viem'
import type { EngineEvents } from '../core/engineEvents.js'
import type { Engine } from '../engine/createEngine.js'
import { DemoCheckError } from '../internal/errors.js'
import { now } from '../internal/now.js'
import { waitFor } from '../internal/waitFor.js'

/** What a car shows after a move: the lock flag and its immobilizer's stage. */
export type CarMove = {
  /** The function whose runs make the move. */
  functionName: string
  locked: boolean
  stage: 'none' | 'warning' | 'final-warning' | 'disable'
}

/** A block pbj has processed, with the moment (ms, {@link now}) `evm_mine` was sent for it. */
export type MinedBlock = { number: bigint; timestamp: bigint; minedAt: number; receivedAt: number }

/**
 * When each car got there, in ms ({@link now}): the runs' starts, each command's publish (the broker's
 * PUBACK) and each car's signed report as the engine has verified and recorded it.
 */
export type MoveTimes = {
  block: MinedBlock
  runsStartedAt: number[]
  publishedAt: Map<string, number>
  ackedAt: Map<string, number>
}

/**
 * Mines blocks on a dev chain and waits for pbj to process them: the demo's and the benchmarks' clock.
 * `mineAndAwait` also waits until every given car has acknowledged a move, and returns when each stage
 * happened, so latencies are measured from the moment the block was mined (`evm_mine` sent).
 *
 * @example
 * const miner = createBlockMiner(engine, { publicClient, testClient })
 * const { block, ackedAt } = await miner.mineAndAwait([car.deviceId], lockMove, lockAt)
 * console.log(ackedAt.get(car.deviceId.toLowerCase())! - block.minedAt, 'ms to the car')
 */
export function createBlockMiner(
  engine: Engine,
  clients: { publicClient: PublicClient; testClient: TestClient },
  options: {
    timeoutMs?: number
    /**
     * Least time between two blocks (ms). Anvil's WebSocket does not disable Nagle's algorithm: a `newHeads`
     * push sent while the previous one is unacknowledged waits for the client's delayed ACK (~40 ms, measured
     * here), which blocks mined back to back would count as pbj's latency. No chain makes blocks that fast
     * (Arbitrum: 250 ms), so benchmarks space them.
     */
    minIntervalMs?: number
  } = {},
) {
  const timeoutMs = options.timeoutMs ?? 10_000
  const { publicClient, testClient } = clients
  let lastMinedAt = 0

  /** Mines one block (with whatever is pending) and waits until pbj has processed it and its runs. */
  const mine = async (timestamp?: bigint): Promise<MinedBlock> => {
    if (timestamp !== undefined) await testClient.setNextBlockTimestamp({ timestamp })
    const before = await publicClient.getBlockNumber({ cacheTime: 0 })
    const processed = waitFor(
      engine.events,
      'block',
      (b) => b.number === before + 1n,
      timeoutMs,
      `block ${before + 1n}`,
    )
    const wait = lastMinedAt + (options.minIntervalMs ?? 0) - now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const minedAt = now()
    lastMinedAt = minedAt
    await testClient.mine({ blocks: 1 })
    const block = await processed
    await engine.idle()
    return { number: block.number, timestamp: block.timestamp, minedAt, receivedAt: block.receivedAt }
  }

  /** Mines one block expected to make `move` on every car of `deviceIds`, and waits for all their reports. */
  const mineAndAwait = async (
    deviceIds: readonly string[],
    move: CarMove,
    timestamp?: bigint,
  ): Promise<MoveTimes> => {
    const cars = new Set(deviceIds.map((id) => id.toLowerCase()))
    const runsStartedAt: number[] = []
    const publishedAt = new Map<string, number>()
    const ackedAt = new Map<string, number>()
    const offs: (() => void)[] = []
    let settle: (() => void) | undefined
    const allAcked = new Promise<void>((resolve) => {
      settle = resolve
    })
    const on = <K extends keyof EngineEvents>(name: K, listener: (event: EngineEvents[K]) => void) =>
      offs.push(engine.events.on(name, listener))
    on('run', (r) => {
      if (r.run.functionName === move.functionName) runsStartedAt.push(r.startedAt)
    })
    on('device:desired', (d) => {
      const id = d.deviceId.toLowerCase()
      if (
        cars.has(id) &&
        d.state.locked === move.locked &&
        (d.state.immobilizer?.stage ?? 'none') === move.stage
      )
        publishedAt.set(id, d.publishedAt)
    })
    on('device:reported', (r) => {
      const id = r.deviceId.toLowerCase()
      if (
        !cars.has(id) ||
        r.state.locked !== move.locked ||
        (r.state.immobilizer?.stage ?? 'none') !== move.stage
      )
        return
      // Acknowledged: the report is verified and recorded (the event comes after both), not just received.
      if (!ackedAt.has(id)) ackedAt.set(id, now())
      if (ackedAt.size === cars.size) settle?.()
    })
    try {
      const block = await mine(timestamp)
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new DemoCheckError(
                `${move.functionName}: ${ackedAt.size} of ${cars.size} cars acknowledged '${move.stage}' within ${timeoutMs} ms of block ${block.number}`,
              ),
            ),
          timeoutMs,
        )
      })
      await Promise.race([allAcked, timedOut]).finally(() => clearTimeout(timer))
      return { block, runsStartedAt, publishedAt, ackedAt }
    } finally {
      for (const off of offs) off()
    }
  }

  return { mine, mineAndAwait }
}

/** What {@link createBlockMiner} returns. */
export type BlockMiner = ReturnType<typeof createBlockMiner>
