import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'

/** LoanFlood.sol compiled: its ABI and creation bytecode. */
export type CompiledLoanFlood = { abi: Abi; bytecode: Hex }

type SolcOutput = {
  errors?: { severity: string; formattedMessage?: string; message: string }[]
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

const source = fileURLToPath(new URL('./LoanFlood.sol', import.meta.url))

/**
 * Compiles bench/growth/LoanFlood.sol with the repo's solc-js, with the settings of
 * packages/contracts/scripts/build.mjs (cancun, optimizer 200 runs). Bench-only, so it is compiled at bench
 * time (~1 s, mostly loading the compiler) rather than added to `@pbj/contracts`.
 *
 * @example
 * const { abi, bytecode } = await compileLoanFlood()
 */
export async function compileLoanFlood(): Promise<CompiledLoanFlood> {
  const require = createRequire(import.meta.url)
  const solc = require('solc') as { compile(input: string): string }
  const input = {
    language: 'Solidity',
    sources: { 'LoanFlood.sol': { content: await readFile(source, 'utf8') } },
    settings: {
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { LoanFlood: ['abi', 'evm.bytecode.object'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0)
    throw new Error(`LoanFlood.sol: ${errors.map((e) => e.formattedMessage ?? e.message).join('\n')}`)
  const artifact = output.contracts?.['LoanFlood.sol']?.LoanFlood
  if (!artifact) throw new Error('LoanFlood.sol: solc produced no LoanFlood contract')
  return { abi: artifact.abi, bytecode: `0x${artifact.evm.bytecode.object}` }
}
