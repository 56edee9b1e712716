/**
 * The key of a ctx call's arguments, under which an answer the host worked out before the run is handed
 * into the sandbox with it (RunInputJson.answers): a read whose arguments give the same key is answered
 * inside the isolate, without a crossing. The bootstrap computes the same key inside the isolate with its
 * own copy of this code (bootstrap.ts, `answerKeyOf`), so the two must stay alike: createSandbox.test.ts
 * checks that keys made here match there.
 *
 * JSON with every value tagged by its type (`s…` a string, `n…` a bigint, `u` undefined), so no two
 * arguments the host could tell apart share a key. Null, without a key, for anything JSON would not
 * keep exactly: a non-finite number or -0, a function, a symbol, an object that is not a plain object or
 * array (a Date, a typed array, a class instance), an object whose `toJSON` changes it. Such a call
 * always crosses.
 *
 * @example
 * answerKeyOf([{ contract: 'CarLoan', functionName: 'getLoan', args: [7n] }]) // '[{"contract":"sCarLoan",…,"args":["n7"]}]'
 */
export function answerKeyOf(args: readonly unknown[]): string | null {
  try {
    return JSON.stringify(args, tagged)
  } catch {
    return null
  }
}

function tagged(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  switch (typeof raw) {
    case 'string':
      return `s${raw}`
    case 'bigint':
      return `n${raw}`
    case 'undefined':
      return 'u'
    case 'boolean':
      return raw
    case 'number':
      if (!Number.isFinite(raw) || Object.is(raw, -0)) throw new Error('no key')
      return raw
    case 'object': {
      if (raw === null) return null
      const proto = Object.getPrototypeOf(raw)
      if (value === raw && (Array.isArray(raw) || proto === Object.prototype || proto === null)) return raw
      throw new Error('no key')
    }
    default:
      throw new Error('no key')
  }
}

/**
 * The arguments a key was made from, back from the key (what the host remembers of a read: its key alone,
 * a third of the memory the copied arguments take). An `undefined` comes back as a missing property or
 * array element, which every schema and encoder here reads the same way.
 *
 * @example
 * argsOfAnswerKey(answerKeyOf([{ args: [7n] }]) as string) // [{ args: [7n] }]
 */
export function argsOfAnswerKey(key: string): unknown[] {
  return JSON.parse(key, untagged) as unknown[]
}

function untagged(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value
  if (value.startsWith('s')) return value.slice(1)
  if (value.startsWith('n')) return BigInt(value.slice(1))
  return undefined
}
