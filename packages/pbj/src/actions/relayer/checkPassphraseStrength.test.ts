import { describe, expect, it } from 'vitest'
import { checkPassphraseStrength, passphraseWeakness } from './checkPassphraseStrength.js'

describe('checkPassphraseStrength', () => {
  it.each([
    ['x', 'it has 1 characters; at least 12 are needed'],
    ['hunter2', 'it has 7 characters; at least 12 are needed'],
    ['aaaaaaaaaaaaaaaa', 'it repeats fewer than 5 different characters'],
    ['abcdeabcdeabcde', "it repeats 'abcde'"],
    ['abcdefghijklmn', 'it is mostly a sequence such as 1234… or abcd…'],
    ['password1234!', 'it is mostly a common password, word or keyboard walk'],
    ['Qwertyuiop123', 'it is mostly a common password, word or keyboard walk'],
    ['letmein!letmein', 'it is mostly a common password, word or keyboard walk'],
  ])('refuses %j: %s', (passphrase, why) => {
    expect(passphraseWeakness(passphrase)).toBe(why)
    expect(() => checkPassphraseStrength(passphrase)).toThrow(`PBJ_KEY_PASSPHRASE is too weak: ${why}`)
  })

  it.each(['correct horse battery staple', 'a long passphrase', 'Tr0ub4dor&3-mango-kite', 'v8#Kq2!zLm0pR'])(
    'accepts %j',
    (passphrase) => {
      expect(passphraseWeakness(passphrase)).toBeNull()
    },
  )
})
