import type { Abi, Address } from 'viem'
import { ContractInterfaceError } from '../internal/errors.js'
import { classifyRpcError } from './classifyRpcError.js'

/** What {@link probeContract} asks: a view call the contract must answer if it is the one pbj expects. */
export type ContractProbe = {
  /** The contract's name in the config (for the message). */
  name: string
  address: Address
  abi: Abi
  functionName: string
  args: readonly unknown[]
}

/**
 * Asks a configured contract a view call that its interface answers (a selector probe): a revert or an
 * undecodable answer means another contract sits at the address, refused as ContractInterfaceError (a
 * ConfigError). A node that gives no answer at all is not the contract's fault: that error is thrown as is.
 *
 * @example
 * await probeContract(read, 31337, { name: 'CarLoan', address, abi: carLoanAbi, functionName: 'carStatus', args: [zeroAddress] })
 */
export async function probeContract(
  read: (call: Omit<ContractProbe, 'name'>) => Promise<unknown>,
  chainId: number,
  probe: ContractProbe,
): Promise<void> {
  const { name, ...call } = probe
  const argTypes = call.args.map(() => '…').join(', ')
  try {
    await read(call)
  } catch (cause) {
    if (classifyRpcError(cause) !== 'answer') throw cause
    throw new ContractInterfaceError({
      name,
      address: call.address,
      chainId,
      expected: `${call.functionName}(${argTypes})`,
      cause,
    })
  }
}
