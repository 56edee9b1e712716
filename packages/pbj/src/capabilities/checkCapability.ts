import { type Abi, type Address, getAbiItem, getAddress, isAddress, toFunctionSignature } from 'viem'
import { classifyRpcError } from '../chain/classifyRpcError.js'
import { resolveContract } from '../chain/resolveContract.js'
import type { ChainConnection } from '../chain/types.js'
import type { Job } from '../core/job.js'
import { displayPath } from '../internal/displayPath.js'
import { type DeviceAction, deviceActions, type GrantedCapabilities, noCapabilities } from './capabilities.js'
import {
  CapabilityNotGrantedError,
  DeviceNotAllowedError,
  DeviceWhereFailedError,
  WriteNotGrantedError,
  WriteValueCapError,
} from './capabilityErrors.js'
import { checkDeviceText } from './checkDeviceText.js'

const whereAbi = (functionName: string): Abi => [
  {
    type: 'function',
    name: functionName,
    stateMutability: 'view',
    inputs: [{ name: 'device', type: 'address' }],
    outputs: [{ name: '', type: 'bool' }],
  },
]

const short = (error: unknown): string => {
  const e = error as { shortMessage?: unknown; message?: unknown }
  const text = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error)
  return text.split('\n')[0] ?? text
}

/** What checkCapability uses: each loaded function's grants (and file, for hints), the contracts, the chain. */
export type CapabilityServices = {
  functions: ReadonlyMap<string, { file: string; capabilities: GrantedCapabilities }>
  contracts: Readonly<Record<string, Address>>
  chain: Pick<ChainConnection, 'latestSeen' | 'readContract'>
}

/**
 * Refuses a `ctx` call the function's `capabilities` do not grant, before anything is signed or stored:
 * a device action it did not declare, a command to a device its `devices.where` view does not name at the
 * newest block, a `chain.write` to a (contract, function) pair it did not declare or with more wei than
 * that pair's `maxValue`. Device `message`/`reason` text is checked too. Calls that need no capability
 * (reads, kv, logs, `devices.get`) pass. Kept out of the host API's cases so the whole policy reads in one
 * place.
 *
 * @throws CapabilityError naming the function, what it tried and the line to add to `capabilities`
 *   (retryable only when the `devices.where` view could not be read because the RPC was away).
 * @example
 * await checkCapability(services, job, 'devices.unlock', ['0xcar…'])
 */
export async function checkCapability(
  services: CapabilityServices,
  job: Pick<Job, 'functionName' | 'blockNumber'>,
  method: string,
  args: readonly unknown[],
): Promise<void> {
  const bundle = services.functions.get(job.functionName)
  const caps: GrantedCapabilities = bundle?.capabilities ?? noCapabilities
  // Worked out only for a refusal's message: every ctx call passes here (a block's thousand runs make
  // thousands of reads), and resolving the file's path against the working directory is not free.
  const where = () => (bundle ? displayPath(bundle.file) : `function '${job.functionName}'`)
  if (method.startsWith('devices.') && method !== 'devices.get') {
    const action = method.slice('devices.'.length) as DeviceAction
    if (!deviceActions.includes(action)) return
    checkDeviceText(method, args[1])
    if (!caps.devices.actions.includes(action)) {
      throw new CapabilityNotGrantedError({
        functionName: job.functionName,
        method,
        action,
        granted: caps.devices.actions,
        where: where(),
        deviceId: args[0],
      })
    }
    if (caps.devices.where) await checkWhere(services, job, method, args[0], caps.devices.where)
    return
  }
  if (method === 'chain.write') return checkWrite(services, job.functionName, args[0], caps, where)
}

/** The `devices.where` view must return true at the newest block for the device a command targets. */
async function checkWhere(
  services: Pick<CapabilityServices, 'contracts' | 'chain'>,
  job: Pick<Job, 'functionName' | 'blockNumber'>,
  method: string,
  deviceId: unknown,
  view: { contract: string; functionName: string },
): Promise<void> {
  // A malformed id is refused by the host call itself, with its own message.
  if (typeof deviceId !== 'string' || !isAddress(deviceId, { strict: false })) return
  const [address] = resolveContract(view.contract, services.contracts, job.functionName) as [Address]
  const call = `${view.contract}.${view.functionName}(${deviceId.toLowerCase()})`
  // The newest head the engine has seen; never older than the block that asked.
  const head = services.chain.latestSeen()
  // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max takes numbers)
  const at = head > job.blockNumber ? head : job.blockNumber
  const check = { functionName: job.functionName, method, deviceId, view, call, blockNumber: at }
  let result: unknown
  try {
    result = await services.chain.readContract({
      address,
      abi: whereAbi(view.functionName),
      functionName: view.functionName,
      args: [getAddress(deviceId)],
      blockNumber: at,
    })
  } catch (cause) {
    // A revert is an answer every node repeats (the view is misconfigured); anything else is the RPC
    // being away, and the run is tried again. Either way nothing is sent meanwhile.
    const answered = classifyRpcError(cause) === 'answer'
    throw new DeviceWhereFailedError({ ...check, address, answered, reason: short(cause), cause })
  }
  if (result !== true) throw new DeviceNotAllowedError({ ...check, result })
}

/** A write must match a declared (contract, functionName) pair and stay within its `maxValue`. */
function checkWrite(
  services: Pick<CapabilityServices, 'contracts'>,
  functionName: string,
  params: unknown,
  caps: GrantedCapabilities,
  where: () => string,
): void {
  const p = (params ?? {}) as {
    contract?: unknown
    functionName?: unknown
    value?: unknown
    abi?: unknown
    args?: unknown
  }
  // Malformed calls are refused by chainWrite with its own message; nothing here can be matched anyway.
  if (typeof p.contract !== 'string' || typeof p.functionName !== 'string') {
    if (caps.write.length === 0)
      throw new WriteNotGrantedError({
        functionName,
        target: '(malformed call)',
        where: where(),
        contract: '…',
        writeFunctionName: '…',
      })
    return
  }
  const [to] = resolveContract(p.contract, services.contracts, functionName) as [Address]
  const target = `${p.contract}.${p.functionName}`
  const signature = signatureOf(p.abi, p.functionName, p.args)
  const matches = caps.write.filter(
    (w) =>
      // A grant by signature matches only that selector, whatever ABI the function passes; by name, the name.
      (w.functionName.includes('(')
        ? signature !== null && normalize(w.functionName) === signature
        : w.functionName === p.functionName) &&
      (w.contract === '*' ||
        (resolveContract(w.contract, services.contracts, functionName)[0] as Address) === to),
  )
  if (matches.length === 0) {
    throw new WriteNotGrantedError({
      functionName,
      target: `${target}${p.contract === to ? '' : ` (${to})`}`,
      where: where(),
      contract: p.contract,
      writeFunctionName: p.functionName,
    })
  }
  const value = typeof p.value === 'bigint' ? p.value : 0n
  // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max takes numbers)
  const cap = matches.reduce((max, w) => (w.maxValue > max ? w.maxValue : max), 0n)
  if (value > cap) {
    throw new WriteValueCapError({
      functionName,
      contract: p.contract,
      to,
      writeFunctionName: p.functionName,
      value,
      maxValue: cap,
      where: where(),
    })
  }
}

const normalize = (signature: string) => signature.replace(/\s+/g, '')

/**
 * The signature (e.g. `payDue()`) of the function a write would call, from the ABI the function passed:
 * what its selector is made of. Null when the ABI has no such function.
 */
function signatureOf(abi: unknown, functionName: string, args: unknown): string | null {
  if (!Array.isArray(abi)) return null
  try {
    const item = getAbiItem({
      abi: abi as Abi,
      name: functionName,
      args: Array.isArray(args) ? args : [],
    } as never)
    return item && (item as { type?: string }).type === 'function'
      ? normalize(toFunctionSignature(item as never))
      : null
  } catch {
    return null
  }
}
