import type { Address } from 'viem'
import type { GuardChain } from '../../actions/devices/deviceClass.js'
import { loanListAbi } from './carStatus.js'

/** Loans read at once: the reads of one chunk go out together (the read batcher makes them one multicall). */
const chunk = 256

/**
 * The cars of every loan the contract has opened (`loanCount`, then `getLoan(id).car`), lower-cased and
 * without repeats: a reconciliation reaches cars the store has never seen, e.g. financed before pbj began
 * following the chain. A car without an active loan is listed too; the chain says it should be unlocked,
 * which a car never commanded already is, so nothing is sent to it.
 *
 * @example
 * await listCars(carLoan, chain) // ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8']
 */
export async function listCars(contract: Address, chain: GuardChain): Promise<string[]> {
  const count = (await chain.read({
    address: contract,
    abi: loanListAbi,
    functionName: 'loanCount',
    args: [],
  })) as bigint
  const cars = new Set<string>()
  for (let first = 1n; first <= count; first += BigInt(chunk)) {
    const ids: bigint[] = []
    for (let id = first; id <= count && id < first + BigInt(chunk); id++) ids.push(id)
    const loans = await Promise.all(
      ids.map(
        (id) =>
          chain.read({
            address: contract,
            abi: loanListAbi,
            functionName: 'getLoan',
            args: [id],
          }) as Promise<{
            car: Address
          }>,
      ),
    )
    for (const loan of loans) cars.add(loan.car.toLowerCase())
  }
  return [...cars]
}
