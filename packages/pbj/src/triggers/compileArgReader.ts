import { type AbiEvent, type AbiParameter, getAddress, type Log } from 'viem'

/**
 * Reads one argument of a log straight from its topics or data: a `uint*` as a bigint, an `address`
 * checksummed — what viem's `decodeEventLog` gives for it. Returns undefined when the log is not laid out
 * exactly as the event says (topic count, data length): the caller then decodes it in full, which reports
 * what is wrong.
 */
export type ArgReader = (log: Pick<Log, 'topics' | 'data'>) => bigint | string | undefined

/** Types that take exactly one 32-byte word, in the data or as a topic. */
const oneWord = /^(u?int\d*|address|bool|bytes([1-9]|[12]\d|3[0-2]))$/
const readable = /^(uint\d*|address)$/

/**
 * Compiles a reader of argument `name` of `event`, or null when the event's layout is not a fixed one (a
 * dynamic type, a tuple or an anonymous event) or the argument is neither a `uint*` nor an `address`.
 *
 * Deadline triggers need just a key and a time from each log. Decoding the whole log instead (every
 * argument, each address checksummed with a keccak) cost ~30 µs a log, and a log is decoded once per
 * function watching it: with a few deadline functions per loan that bounded catch-up at a few thousand logs
 * a second.
 *
 * @example
 * const readLoanId = compileArgReader(loanOpened, 'loanId')
 * readLoanId?.(log) // 42n
 */
export function compileArgReader(event: AbiEvent, name: string): ArgReader | null {
  if (event.anonymous) return null
  const inputs: readonly AbiParameter[] = event.inputs
  const indexed = inputs.filter((i) => 'indexed' in i && i.indexed)
  const plain = inputs.filter((i) => !('indexed' in i && i.indexed))
  if (!inputs.every((i) => oneWord.test(i.type))) return null
  const input = inputs.find((i) => i.name === name)
  if (!input || !readable.test(input.type)) return null
  const topicCount = 1 + indexed.length
  const dataLength = 2 + 64 * plain.length
  const topic = indexed.indexOf(input) + 1
  const offset = 2 + 64 * plain.indexOf(input)
  const address = input.type === 'address'
  return (log) => {
    if (log.topics.length !== topicCount || log.data.length !== dataLength) return undefined
    const word = topic > 0 ? log.topics[topic]?.slice(2) : log.data.slice(offset, offset + 64)
    if (word === undefined || word.length !== 64) return undefined
    try {
      return address ? getAddress(`0x${word.slice(24)}`) : BigInt(`0x${word}`)
    } catch {
      return undefined // not hex: the full decode says so
    }
  }
}
