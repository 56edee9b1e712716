import { executionBalanceAbi } from '@pbj/contracts'
import type { Address } from 'viem'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { probeContract } from '../chain/probeContract.js'
import type { ChainConnection } from '../chain/types.js'
import { ContractWithoutCodeError } from '../internal/errors.js'

/**
 * Checks the config's contracts against the chain at start, at its head: every address has code (else
 * ContractWithoutCodeError: a wrong address or the wrong chain, whose events would never come and whose
 * loans would never lock), the device class's contracts have its interface (`DeviceClass.verify`), and
 * the payment contract answers ExecutionBalance's `operator()`. All ConfigErrors.
 *
 * @example
 * await checkContracts({ chain, contracts: { CarLoan: '0x…' }, deviceClass, paymentContract: null })
 */
export async function checkContracts(params: {
  chain: Pick<ChainConnection, 'chainId' | 'getHeader' | 'getCode' | 'readContract'>
  contracts: Readonly<Record<string, Address>>
  deviceClass: DeviceClass | null
  /** ExecutionBalance's address, with `payment`. */
  paymentContract: Address | null
}): Promise<void> {
  const { chain, contracts } = params
  const head = await chain.getHeader('latest')
  const named: [string, Address][] = Object.entries(contracts)
  const { paymentContract } = params
  if (paymentContract && !named.some(([, a]) => a.toLowerCase() === paymentContract.toLowerCase()))
    named.push(['payment.contract', paymentContract])
  const codes = await Promise.all(named.map(([, address]) => chain.getCode(address, head.number)))
  named.forEach(([name, address], i) => {
    const code = codes[i]
    if (!code || code === '0x') throw new ContractWithoutCodeError({ name, address, chainId: chain.chainId })
  })
  const read = (call: Parameters<ChainConnection['readContract']>[0]) =>
    chain.readContract({ ...call, blockNumber: head.number })
  await params.deviceClass?.verify?.({ chainId: chain.chainId, blockNumber: head.number, contracts, read })
  if (paymentContract) {
    const name = named.find(([, a]) => a.toLowerCase() === paymentContract.toLowerCase())?.[0]
    await probeContract(read, chain.chainId, {
      name: name ?? 'payment.contract',
      address: paymentContract,
      abi: executionBalanceAbi,
      functionName: 'operator',
      args: [],
    })
  }
}
