import { createRegistry } from '../../internal/createRegistry.js'

/**
 * Engine credentials of an embedded broker, as its url's user and password.
 *
 * @example
 * const login: BrokerLogin = { username: 'pbj-engine', password: 'k3…' }
 */
export type BrokerLogin = { username: string; password: string }

// By url: the engine is handed the broker's url (config, `pbj dev`, tests) and finds its password here,
// so the password never leaves the process and no caller has to pass it along.
const logins = createRegistry<BrokerLogin>()

/**
 * The engine credentials of the embedded broker at `url` in this process (see startEmbeddedBroker), or
 * undefined when none runs there. createMqttBroker uses them when it is given no credentials, at every
 * (re)connect, so an embedded broker restarted on the same port with a new password is reached too.
 *
 * @example
 * const login = embeddedBrokerLogin(broker.url) // { username: 'pbj-engine', password: '…' }
 */
export function embeddedBrokerLogin(url: string): BrokerLogin | undefined {
  return logins.get(url)
}

/**
 * Records the engine credentials of an embedded broker; returns the function that forgets them (only if
 * they were not replaced since).
 *
 * @example
 * const forget = registerEmbeddedBrokerLogin(url, login)
 */
export function registerEmbeddedBrokerLogin(url: string, login: BrokerLogin): () => void {
  return logins.register(url, login)
}
