import type { Address } from 'viem'

/**
 * Where Multicall3 lives on most EVM chains (the same address everywhere, deployed with a presigned
 * transaction); pbj batches view calls through it when the chain has code there, and installs it there on
 * the embedded Anvil (see installMulticall3).
 */
export const multicall3Address: Address = '0xcA11bde05977b3631167028862bE2a173976CA11'

/** The one Multicall3 function pbj uses, as in Multicall3's ABI. */
export const aggregate3Abi = [
  {
    type: 'function',
    name: 'aggregate3',
    stateMutability: 'payable',
    inputs: [
      {
        name: 'calls',
        type: 'tuple[]',
        components: [
          { name: 'target', type: 'address' },
          { name: 'allowFailure', type: 'bool' },
          { name: 'callData', type: 'bytes' },
        ],
      },
    ],
    outputs: [
      {
        name: 'returnData',
        type: 'tuple[]',
        components: [
          { name: 'success', type: 'bool' },
          { name: 'returnData', type: 'bytes' },
        ],
      },
    ],
  },
] as const
