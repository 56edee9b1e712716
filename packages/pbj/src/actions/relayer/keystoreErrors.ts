import { PbjError, type PbjErrorOptions, type RetryClass } from '../../internal/errors.js'

// Each failure below keeps the name `KeystoreError` (WrongPassphraseError excepted, as before), so what
// a log or the CLI shows reads as it did; the class tells them apart in code.

/** The environment variable the engine and `pbj keys` read the keystore's passphrase from. */
export const passphraseEnv = 'PBJ_KEY_PASSPHRASE'

/**
 * A keystore that cannot be read, written or opened (altered file, bad format, no passphrase). The base
 * of every keystore failure: the user's to fix, so never retried.
 */
export class KeystoreError extends PbjError {
  override name = 'KeystoreError'
  override readonly retry: RetryClass = 'user'
}

/** The passphrase does not open the keystore (its MAC does not match), or the file was altered. */
export class WrongPassphraseError extends KeystoreError {
  override name = 'WrongPassphraseError'
  constructor(source: string, options: Pick<PbjErrorOptions, 'cause'> = {}) {
    super(`Wrong passphrase for ${source} (or the file was altered)`, {
      ...options,
      hint: `Set ${passphraseEnv} to the passphrase it was created with (pbj keys create / import).`,
    })
  }
}

/** No passphrase was given, so the keystore can be neither written nor opened. */
export class NoPassphraseError extends KeystoreError {
  constructor() {
    super('No passphrase for the operator keystore', {
      hint: `Set ${passphraseEnv} to the keystore's passphrase.`,
    })
  }
}

/** A new keystore's passphrase is among the first a cracker would guess; `weakness` says why. */
export class WeakPassphraseError extends KeystoreError {
  constructor(params: { weakness: string; minChars: number }) {
    super(`The passphrase in ${passphraseEnv} is too weak: ${params.weakness}`, {
      hint: `Use ${params.minChars}+ characters that are not a common password, e.g. four or five random words ("correct horse battery staple"), or a password manager's.`,
    })
  }
}

/**
 * A private key handed to pbj is not 0x and 64 hex digits: to `encryptKey` (`source: 'argument'`) or on
 * `pbj keys import`'s standard input (`source: 'stdin'`).
 */
export class InvalidPrivateKeyError extends KeystoreError {
  constructor(params: { source: 'argument' | 'stdin' }) {
    if (params.source === 'stdin')
      super('pbj keys import reads a private key (64 hex digits) from standard input', {
        hint: 'e.g. `pbj keys import --dir . < key.txt`, or paste it and press Ctrl-D.',
      })
    else super('A private key is 0x followed by 64 hex digits')
  }
}

/** A keystore file's own KDF parameters are out of range (N not a power of two, too much memory). */
export class KeystoreParamsError extends KeystoreError {
  constructor(params: { kdf: string; cause: Error }) {
    super(`The keystore's ${params.kdf} parameters cannot be used`, {
      cause: params.cause,
      details: params.cause.message,
    })
  }
}

/** The keystore file is missing or is not JSON. */
export class KeystoreReadError extends KeystoreError {
  constructor(params: { path: string; cause: unknown }) {
    const { path, cause } = params
    super(`Cannot read the keystore at ${path}`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      hint: 'Create one with `pbj keys create` or `pbj keys import`, or fix operatorKeystore in pbj.config.ts.',
    })
  }
}

/**
 * The file is JSON but not a keystore pbj can open (`format: 'unknown'`), or one in pbj's old format where
 * only `openKeystore`, which rewrites it, may read it (`format: 'legacy'`).
 */
export class KeystoreFormatError extends KeystoreError {
  constructor(params: { path: string; format: 'unknown' | 'legacy' }) {
    const { path } = params
    if (params.format === 'legacy')
      super(`${path} is in pbj's old keystore format`, {
        hint: `Open it once with ${passphraseEnv} set (\`pbj start\`, \`pbj dev\` or \`pbj keys export --file ${path}\`): pbj rewrites it as a v3 keystore.`,
      })
    else
      super(`${path} is not a keystore pbj can open (Web3 Secret Storage v3: scrypt or pbkdf2, aes-128-ctr)`)
  }
}

/**
 * The key a keystore decrypts to is not the address the file names. The address is outside the MAC, so a
 * swapped one would show the wrong operator.
 */
export class KeystoreAddressError extends KeystoreError {
  constructor(params: { source: string; address: string }) {
    super(`${params.source} decrypts to a key that is not ${params.address}`)
  }
}

/** Writing a keystore would overwrite one, and `force` was not given. */
export class KeystoreExistsError extends KeystoreError {
  constructor(params: { path: string }) {
    super(`A keystore already exists at ${params.path}`, {
      hint: 'Export it first (`pbj keys export`), then pass --force to replace it, or choose another --file.',
    })
  }
}

/** An old-format keystore, rewritten as v3, did not open to the same key; the file was left unchanged. */
export class KeystoreMigrationError extends KeystoreError {
  constructor(params: { path: string }) {
    super(`Rewriting ${params.path} as a v3 keystore did not round-trip; the file is unchanged`)
  }
}

/** The config sets both `operatorKey` and `operatorKeystore`; pbj will not guess which is meant. */
export class OperatorKeyConflictError extends KeystoreError {
  constructor() {
    super('operatorKey and operatorKeystore are both set', {
      hint: 'Keep one: operatorKeystore keeps the key encrypted at rest.',
    })
  }
}
