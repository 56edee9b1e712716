/**
 * ABIs plus creation bytecode of the pbj contracts, for deploying them (demo, tests). Host-side only:
 * user functions import `@pbj/contracts`, which carries the ABIs without the bytecode's weight.
 *
 * @example
 * import { testUsdAbi, testUsdBytecode } from '@pbj/contracts/artifacts'
 * const hash = await wallet.deployContract({ abi: testUsdAbi, bytecode: testUsdBytecode })
 */
export {
  carLoanAbi,
  carWalletAbi,
  deviceRegistryAbi,
  executionBalanceAbi,
  multicall3Abi,
  testUsdAbi,
} from './generated/abis.js'
export {
  carLoanBytecode,
  carWalletBytecode,
  deviceRegistryBytecode,
  executionBalanceBytecode,
  multicall3Bytecode,
  testUsdBytecode,
} from './generated/bytecode.js'
