import { NativeSecp256k1Error } from './errors/keys.js'
import { loadNativeSecp256k1 } from './nativeSecp256k1.js'
import { nobleSecp256k1 } from './nobleSecp256k1.js'
import type { Secp256k1, Secp256k1Backend } from './secp256k1Types.js'

/**
 * The secp256k1 backend in use: libsecp256k1 (~20× faster) when its prebuilt binding loads, else
 * @noble/curves. `PBJ_SECP256K1=js` forces the pure-JS one (to compare, or where a native module is not
 * wanted); `PBJ_SECP256K1=native` makes a missing binding an error instead of a silent fallback.
 *
 * @example
 * const signature = secp256k1.sign(digest, privateKey)
 */
export const secp256k1: Secp256k1 = select(process.env.PBJ_SECP256K1)

/**
 * Which backend {@link secp256k1} is: `native` or `js`. For benchmarks and logs.
 *
 * @example
 * console.log(`secp256k1: ${secp256k1Backend()}`) // 'secp256k1: native'
 */
export function secp256k1Backend(): Secp256k1Backend {
  return secp256k1.backend
}

function select(wanted: string | undefined): Secp256k1 {
  if (wanted === 'js') return nobleSecp256k1
  const native = loadNativeSecp256k1()
  if (native) return native
  if (wanted === 'native') {
    throw new NativeSecp256k1Error()
  }
  return nobleSecp256k1
}
