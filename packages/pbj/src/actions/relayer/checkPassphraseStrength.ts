import { WeakPassphraseError } from './keystoreErrors.js'

/** The fewest characters a new keystore passphrase may have. */
export const minPassphraseChars = 12

// Words and keyboard walks that guessers try first; what is left once they are taken out must still be
// long enough to count.
const common = [
  'password',
  'passphrase',
  'passwort',
  'qwertyuiop',
  'asdfghjkl',
  'zxcvbnm',
  'azerty',
  'letmein',
  'iloveyou',
  'welcome',
  'changeme',
  'admin',
  'secret',
  'operator',
  'monkey',
  'dragon',
  'football',
  'baseball',
  'sunshine',
  'princess',
  'master',
  'trustno1',
  'abc123',
  '0123456789',
  '9876543210',
  'abcdefghijklmnopqrstuvwxyz',
]

/** The longest run of characters whose codes go up (or down) by one: `1234`, `abcd`, `dcba`. */
function longestSequence(chars: readonly string[]): number {
  let best = 1
  for (const step of [1, -1]) {
    let run = 1
    for (let i = 1; i < chars.length; i++) {
      run = (chars[i]?.codePointAt(0) ?? 0) - (chars[i - 1]?.codePointAt(0) ?? 0) === step ? run + 1 : 1
      if (run > best) best = run
    }
  }
  return best
}

/** Why a passphrase is too weak, or null. */
export function passphraseWeakness(passphrase: string): string | null {
  const chars = [...passphrase.normalize('NFKC')]
  if (chars.length < minPassphraseChars)
    return `it has ${chars.length} characters; at least ${minPassphraseChars} are needed`
  if (new Set(chars.map((c) => c.toLowerCase())).size < 5)
    return 'it repeats fewer than 5 different characters'
  for (let unit = 1; unit <= 6; unit++) {
    const head = chars.slice(0, unit).join('')
    if (chars.length >= unit * 2 && head.repeat(Math.ceil(chars.length / unit)).startsWith(chars.join(''))) {
      return `it repeats '${head}'`
    }
  }
  if (longestSequence(chars) > chars.length - 4) return 'it is mostly a sequence such as 1234… or abcd…'
  let rest = chars.join('').toLowerCase()
  for (const word of common) {
    // The whole word, and any 6+ character stretch of a longer walk (qwerty, 123456, abcdef…).
    for (let len = word.length; len >= Math.min(6, word.length); len--) {
      for (let start = 0; start + len <= word.length; start++)
        rest = rest.split(word.slice(start, start + len)).join('')
    }
  }
  if ([...rest].length < 6) return 'it is mostly a common password, word or keyboard walk'
  return null
}

/**
 * Refuses a weak passphrase for a new keystore (`pbj keys create` / `import`). The keystore's scrypt
 * slows each guess to ~0.5 s, but a short, repeated or common passphrase is among the first guesses any
 * cracker tries. The rule, kept small rather than a dictionary library: at least
 * {@link minPassphraseChars} characters, at least 5 different ones, not a repeated unit (`abcabc…`), not
 * mostly a sequence (`1234…`), and at least 6 characters left once common passwords and keyboard walks
 * are taken out. A few random words (`correct horse battery staple`) pass.
 *
 * @throws WeakPassphraseError saying why and what to do.
 * @example
 * checkPassphraseStrength('hunter2') // throws: it has 7 characters; at least 12 are needed
 */
export function checkPassphraseStrength(passphrase: string | undefined): void {
  if (!passphrase) return // encryptKey says that no passphrase is set
  const weakness = passphraseWeakness(passphrase)
  if (!weakness) return
  throw new WeakPassphraseError({ weakness, minChars: minPassphraseChars })
}
