/**
 * A per-process registry of values by key, where a later registration replaces an earlier one and each
 * registration's `forget` removes only its own value. The embedded broker registers what the engine needs to
 * reach it (its login, its in-process publish and subscribe) under its url; the engine, handed only the url,
 * looks them up.
 *
 * @example
 * const logins = createRegistry<BrokerLogin>()
 * const forget = logins.register(url, login)
 * logins.get(url) // login, until forget() or a newer register(url, …)
 */
export function createRegistry<T>() {
  const values = new Map<string, T>()
  return {
    get: (key: string): T | undefined => values.get(key),
    /** Records `value` under `key`; returns the function that forgets it (only if not replaced since). */
    register(key: string, value: T): () => void {
      values.set(key, value)
      return () => {
        if (values.get(key) === value) values.delete(key)
      }
    },
  }
}
