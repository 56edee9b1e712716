import { multicall3Bytecode } from '@pbj/contracts/artifacts'
import { RpcAnswerError } from '../internal/errors.js'
import { multicall3Address } from './multicall3.js'

/**
 * Puts Multicall3's code at its usual address on a dev chain (Anvil's `anvil_setCode`), so the engine
 * batches view calls there as it does on public chains. The runtime code is what the contract's
 * constructor returns, read with an `eth_call` of the creation code.
 *
 * @example
 * const anvil = await startAnvil()
 * await installMulticall3(anvil.rpcUrl)
 */
export async function installMulticall3(rpcUrl: string): Promise<void> {
  const runtime = await request(rpcUrl, 'eth_call', [{ data: multicall3Bytecode }, 'latest'])
  await request(rpcUrl, 'anvil_setCode', [multicall3Address, runtime])
}

async function request(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await response.json()) as { result?: unknown; error?: { message: string } }
  if (body.error) throw new RpcAnswerError({ url, method, message: body.error.message })
  return body.result
}
