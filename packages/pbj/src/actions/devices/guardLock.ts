import { classifyRpcError } from '../../chain/classifyRpcError.js'
import type { Common } from '../../engine/types.js'
import { LockRefusedError } from './LockRefusedError.js'

/**
 * The pre-lock guard, defense in depth: before a lock is stored or sent, re-reads the configured view
 * (`CarLoan.isCarDelinquent(device)` by default) at the latest block, and throws a {@link LockRefusedError}
 * unless it returns true. A function with a bug, a stale trigger or a compromised bundle cannot lock a car
 * whose loan is current. It fails closed: no guard configured, or a guard that cannot be read, refuses the
 * lock too. The refusal is also emitted as a 'warning'. Returns the block the guard read.
 *
 * @example
 * await guardLock(common, '0xcar…', job.blockNumber) // throws LockRefusedError if the loan is current
 * await commandDevice(common, '0xcar…', { locked: true }, commandId, job.blockNumber)
 */
export async function guardLock(
  common: Pick<Common, 'chain' | 'events' | 'guards'>,
  deviceId: string,
  blockNumber: bigint,
): Promise<bigint> {
  const guard = common.guards.lock
  const refuse = (error: LockRefusedError): never => {
    common.events.emit('warning', error.shortMessage)
    throw error
  }
  if (!guard) {
    return refuse(
      new LockRefusedError(
        'no-guard',
        `lock of ${deviceId} refused: no pre-lock guard is configured, so the lock cannot be checked`,
        { deviceId, guard: null, result: undefined, blockNumber: null },
        {
          hint: 'Set guards: { lock: { contract, functionName } } in pbj.config.ts (a view taking the device id and returning true when it may be locked), or add a CarLoan contract to use CarLoan.isCarDelinquent.',
        },
      ),
    )
  }
  const named = { contract: guard.contract, functionName: guard.functionName }
  const call = `${guard.contract}.${guard.functionName}(${deviceId})`
  // The newest head the engine has seen, without a round trip: heads are pushed within ~2 ms of a block,
  // and a node asked for a block it has not got yet fails the read, which is retried.
  let head = common.chain.latestSeen()
  if (head === 0n)
    try {
      head = (await common.chain.getHeader('latest')).number
    } catch (cause) {
      return refuse(
        new LockRefusedError(
          'guard-failed',
          `lock of ${deviceId} refused: cannot read the latest block for the pre-lock guard`,
          { deviceId, guard: named, result: undefined, blockNumber: null },
          { cause, retry: 'retryable', hint: 'Check that the RPC is reachable; the run is retried.' },
        ),
      )
    }
  // A fallback node behind the block that asked for the lock would answer from older state.
  const at = head > blockNumber ? head : blockNumber
  let result: unknown
  try {
    result = await common.chain.readContract({
      address: guard.address,
      abi: guard.abi,
      functionName: guard.functionName,
      args: [deviceId],
      blockNumber: at,
    })
  } catch (cause) {
    // A revert is an answer another node would repeat: the guard is misconfigured. Anything else is the
    // RPC being away, and the run is retried; either way nothing is sent meanwhile.
    const answered = classifyRpcError(cause) === 'answer'
    return refuse(
      new LockRefusedError(
        'guard-failed',
        `lock of ${deviceId} refused: the pre-lock guard ${call} failed at block ${at}: ${shortMessageOf(cause)}`,
        { deviceId, guard: named, result: undefined, blockNumber: at },
        {
          cause,
          retry: answered ? 'user' : 'retryable',
          hint: answered
            ? `Point guards.lock in pbj.config.ts at a view ${guard.functionName}(address) returns (bool) deployed at ${guard.address}.`
            : 'Check that the RPC is reachable; the run is retried.',
        },
      ),
    )
  }
  if (result !== true) {
    return refuse(
      new LockRefusedError(
        'loan-current',
        `lock of ${deviceId} refused: the pre-lock guard ${call} returned ${String(result)} at block ${at} (the loan is current)`,
        { deviceId, guard: named, result, blockNumber: at },
        {
          hint: `A lock goes out only while ${guard.contract}.${guard.functionName} returns true at the latest block. Check the function's own delinquency check.`,
        },
      ),
    )
  }
  return at
}

function shortMessageOf(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown }
  const text = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error)
  return text.split('\n')[0] ?? text
}
