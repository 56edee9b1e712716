import { type Abi, type Address, encodeFunctionData } from 'viem'
import { resolveContract } from '../../chain/resolveContract.js'
import type { Confirmation } from '../../core/confirmation.js'
import type { Job } from '../../core/job.js'
import type { WriteResult } from '../../function/ctx.js'
import type { FunctionBundle } from '../../runtime/loadFunction.js'
import type { Relayer } from './createRelayer.js'
import { ChainWriteArgsError, NoOperatorKeyError } from './relayerErrors.js'

/** What chainWrite uses: the relayer (null without an operator key), the contracts, each function's trigger. */
export type ChainWriteServices = {
  relayer: Pick<Relayer, 'send'> | null
  contracts: Readonly<Record<string, Address>>
  functions: ReadonlyMap<string, Pick<FunctionBundle, 'trigger'>>
}

/**
 * Serves `ctx.chain.write`: encodes the call from its ABI and hands it to the engine's relayer under the
 * idempotency key `${job.id}:w${index}`, so a retried run (same job, same call order) gets the transaction
 * its first attempt sent instead of a second one. The receipt is followed to the trigger's confirmation
 * mode by the relayer's tracker; the run does not wait for mining. Arguments come from the sandbox and are
 * checked here.
 *
 * @example
 * const { hash, nonce } = await chainWrite(services, job, { contract: 'TestUSD', abi, functionName: 'mint', args }, 0)
 */
export async function chainWrite(
  services: ChainWriteServices,
  job: Pick<Job, 'id' | 'functionName'>,
  params: unknown,
  index: number,
): Promise<WriteResult> {
  const relayer = services.relayer
  if (!relayer) throw new NoOperatorKeyError()
  const p = (params ?? {}) as {
    contract?: unknown
    abi?: unknown
    functionName?: unknown
    args?: unknown
    value?: unknown
    gas?: unknown
  }
  if (typeof p.contract !== 'string' || !Array.isArray(p.abi) || typeof p.functionName !== 'string') {
    throw new ChainWriteArgsError({ problem: 'shape' })
  }
  if (p.args !== undefined && !Array.isArray(p.args)) throw new ChainWriteArgsError({ problem: 'args' })
  for (const field of ['value', 'gas'] as const) {
    const v = p[field]
    if (v !== undefined && (typeof v !== 'bigint' || v < 0n))
      throw new ChainWriteArgsError({ problem: 'amount', field, value: v })
  }
  const [to] = resolveContract(p.contract, services.contracts, job.functionName) as [Address]
  let data: `0x${string}`
  try {
    data = encodeFunctionData({ abi: p.abi as Abi, functionName: p.functionName, args: p.args ?? [] })
  } catch (cause) {
    throw new ChainWriteArgsError({ problem: 'encode', functionName: p.functionName, cause })
  }
  const trigger = services.functions.get(job.functionName)?.trigger as
    | { confirmation?: Confirmation }
    | undefined
  const sent = await relayer.send({
    idempotencyKey: `${job.id}:w${index}`,
    to,
    data,
    ...(p.value === undefined ? {} : { value: p.value as bigint }),
    ...(p.gas === undefined ? {} : { gas: p.gas as bigint }),
    confirmation: trigger?.confirmation ?? 'instant',
  })
  return { hash: sent.txHash, nonce: sent.nonce }
}
