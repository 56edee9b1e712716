import { classifyRpcError } from '../../chain/classifyRpcError.js'
import { messagesOf } from '../../chain/parseLogRangeError.js'

/**
 * What a node's refusal of `eth_sendRawTransaction` means for the relayer:
 * - `known`: the node already has this very transaction: as good as accepted.
 * - `nonce-too-low`: the nonce is used. Either one of our attempts was mined, or another transaction took
 *   the nonce; the chain decides which (never retried as is: OZ Relayer #681).
 * - `nonce-too-high`: the node will not queue it behind a gap; the gap must be filled first.
 * - `replacement-underpriced`: another transaction with this nonce sits in the pool (an earlier attempt of
 *   ours, or someone else's); the chain will tell which one is mined.
 * - `fee-too-low`: below the base fee or the node's minimum: re-sign with the market's fees.
 * - `funds`: the sender cannot pay for it now; retried (it may be funded).
 * - `unavailable`: no usable answer (transport, rate limit, full pool); retried as is.
 * - `rejected`: refused for good (malformed, intrinsic gas, gas limit above the block's…).
 */
export type SendErrorKind =
  | 'known'
  | 'nonce-too-low'
  | 'nonce-too-high'
  | 'replacement-underpriced'
  | 'fee-too-low'
  | 'funds'
  | 'unavailable'
  | 'rejected'

// The wordings of geth, Anvil, Hardhat, Erigon, Nethermind, Besu and hosted providers. Order matters:
// "Nonce too high. Expected nonce to be …" must not read as too low, nor "replacement transaction
// underpriced" as a plain fee refusal.
const patterns: [Exclude<SendErrorKind, 'unavailable' | 'rejected'>, RegExp][] = [
  [
    'known',
    /already known|already imported|already exists|alreadyknown|known transaction|transaction_already_known/i,
  ],
  [
    'nonce-too-high',
    /nonce too high|nonce.?too.?far|noncegap|nonce gap|too far in the future|incorrect_nonce/i,
  ],
  ['nonce-too-low', /nonce too low|oldnonce|nonce_too_low|nonce has already been used|nonce is too low/i],
  [
    'replacement-underpriced',
    /replacement (transaction )?underpriced|replacement_underpriced|replacement fee too low/i,
  ],
  [
    'fee-too-low',
    /base fee|feetoolow|fee too low|transaction underpriced|gas price too low|max fee per gas less than/i,
  ],
  ['funds', /insufficient funds|insufficientfunds|insufficient balance/i],
]

const permanent =
  /intrinsic gas too low|exceeds block gas limit|invalid sender|invalid chain ?id|oversized data|transaction type not supported|tip higher than fee cap|priority fee per gas higher than max fee|gas uint64 overflow|invalid signature/i

/**
 * Sorts a failed `eth_sendRawTransaction` by what to do next (see {@link SendErrorKind}), from the node's
 * message along the cause chain, falling back on the transport's verdict.
 *
 * @example
 * classifySendError(new Error('nonce too low')) // 'nonce-too-low'
 */
export function classifySendError(error: unknown): SendErrorKind {
  const text = messagesOf(error).join(' | ')
  for (const [kind, pattern] of patterns) if (pattern.test(text)) return kind
  if (/txpool is full|pool is full|too many (transactions|requests)|temporarily/i.test(text))
    return 'unavailable'
  // Refusals geth words under its generic -32000, which would otherwise read as a passing fault.
  if (permanent.test(text)) return 'rejected'
  return classifyRpcError(error) === 'answer' ? 'rejected' : 'unavailable'
}
