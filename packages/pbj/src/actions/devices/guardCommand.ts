import { deviceRegistryAbi } from '@pbj/contracts'
import { backoffDelay } from '@pbj/internal/backoffDelay.js'
import { sleep } from '@pbj/internal/sleep.js'
import type { Address } from 'viem'
import { classifyRpcError } from '../../chain/classifyRpcError.js'
import type { ChainConnection } from '../../chain/types.js'
import type { Logger } from '../../internal/logger.js'
import {
  CommandRefusedError,
  GuardFailedError,
  GuardRefusedError,
  NoGuardError,
  NotOperatorError,
} from './CommandRefusedError.js'
import type { DeviceClass, DeviceCommand, GuardVerdict } from './deviceClass.js'

/** What the guard uses: the chain, the config's contracts, the device class, the operator, and warnings. */
export type GuardServices = {
  chain: Pick<ChainConnection, 'readContract' | 'latestSeen' | 'getHeader'>
  logger: Pick<Logger, 'warn'>
  contracts: Readonly<Record<string, Address>>
  /** The device class every command is checked by; null: none, and every command is refused. */
  deviceClass: DeviceClass | null
  /** The engine's operator address: a device must list it in DeviceRegistry. Null without an operator key. */
  operator: Address | null
}

/** Tries of an unlock or a warning whose guard cannot be read, before the run is left to be retried. */
const unlockTries = 4

/**
 * Every device command passes the chain before it is stored or signed, whatever the function asked:
 * 1. the device is registered in DeviceRegistry with this engine's operator (no commands to made-up ids);
 * 2. its class's guard allows the action at the newest block the engine has seen (never older than the
 *    block that caused the run): for the immobilizer, lock only while the car's one active loan is
 *    delinquent, unlock only while it is not, warn only while a due date is missed.
 * Both reads go out in the same tick, so the read batcher sends them as one multicall.
 *
 * Fails closed for locks: a chain that cannot be read refuses the lock (retryable: the run tries again). An
 * unlock or a warning is tried again here with backoff first, so a paid car is not left locked because an
 * RPC blinked, then the run is retried. Each refusal is logged as a warning. Returns the block it read.
 *
 * @example
 * await guardCommand(services, { deviceId, action: 'lock', desired }, job.blockNumber) // throws if refused
 */
export async function guardCommand(
  services: GuardServices,
  command: DeviceCommand,
  blockNumber: bigint,
): Promise<bigint> {
  const { deviceClass } = services
  const { deviceId, action } = command
  const refuse = (error: CommandRefusedError): never => {
    services.logger.warn(error.shortMessage, { deviceId, action })
    throw error
  }
  if (!deviceClass) return refuse(new NoGuardError({ deviceId, action }))
  const tries = action === 'lock' ? 1 : unlockTries
  for (let attempt = 1; ; attempt++) {
    let at: bigint | null = null
    try {
      at = await newestBlock(services.chain, blockNumber)
      const [operatorOk, verdict] = await Promise.all([
        isOperator(services, deviceId, at),
        deviceClass.guard(command, {
          blockNumber: at,
          contracts: services.contracts,
          read: (call) =>
            services.chain.readContract({ ...call, args: [...call.args], blockNumber: at as bigint }),
        }),
      ])
      if (!operatorOk) {
        return refuse(
          new NotOperatorError({
            deviceId,
            action,
            guard: deviceClass.name,
            blockNumber: at,
            operator: String(services.operator),
          }),
        )
      }
      return allowedOrRefuse(verdict, at)
    } catch (cause) {
      if (cause instanceof CommandRefusedError) throw cause
      // A revert is an answer every node would repeat: the guard or the config is wrong. Anything else is
      // the RPC away: tried again here (unlocks, warnings), then the run is retried.
      const answered = classifyRpcError(cause) === 'answer'
      if (!answered && attempt < tries) {
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 2_000 }))
        continue
      }
      return refuse(
        new GuardFailedError({
          deviceId,
          action,
          guard: deviceClass.name,
          blockNumber: at,
          answered,
          message: shortMessageOf(cause),
          cause,
        }),
      )
    }
  }

  function allowedOrRefuse(verdict: GuardVerdict, at: bigint): bigint {
    if (verdict.ok) return at
    return refuse(
      new GuardRefusedError({
        deviceId,
        action,
        guard: deviceClass?.name ?? null,
        blockNumber: at,
        reason: verdict.reason,
        message: verdict.message,
        hint: verdict.hint,
      }),
    )
  }
}

/** The newest head seen, without a round trip (heads are pushed within ~2 ms); never older than `floor`. */
async function newestBlock(chain: GuardServices['chain'], floor: bigint): Promise<bigint> {
  let head = chain.latestSeen()
  if (head === 0n) head = (await chain.getHeader('latest')).number
  // A fallback node behind the block that asked for the command would answer from older state.
  return head > floor ? head : floor
}

/** Whether DeviceRegistry lists the operator for the device; true when there is no operator (nothing is signed). */
async function isOperator(services: GuardServices, deviceId: string, at: bigint): Promise<boolean> {
  const registry = services.contracts.DeviceRegistry
  // Without an operator key nothing can be signed, so nothing reaches a device; without a registry no
  // device could verify a command. Either way the outbox only stores the state.
  if (!services.operator || !registry) return true
  const allowed = await services.chain.readContract({
    address: registry,
    abi: deviceRegistryAbi,
    functionName: 'isOperator',
    args: [deviceId, services.operator],
    blockNumber: at,
  })
  return allowed === true
}

function shortMessageOf(error: unknown): string {
  const e = error as { shortMessage?: unknown; message?: unknown }
  const text = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error)
  return text.split('\n')[0] ?? text
}
