import { timingSafeEqual } from 'node:crypto'
import { verifyDeviceLogin } from '@pbj/device'
import type { AedesOptions, AuthenticateError, Client } from 'aedes'
import type { BrokerLogin } from './embeddedBrokerLogin.js'

/**
 * Options of {@link createBrokerAcl}.
 *
 * @example
 * const options: BrokerAclOptions = { engine: { username: 'pbj-engine', password }, topicPrefix: 'pbj' }
 */
export type BrokerAclOptions = {
  /** The engine's credentials: the one client that commands devices. */
  engine: BrokerLogin
  /**
   * The topic prefix devices may use. Unset: any prefix without wildcards, which is as safe (a device
   * still reaches only topics ending in its own `devices/<id>/desired|reported`) and lets engines with
   * different prefixes share the broker.
   */
  topicPrefix?: string | undefined
  /** The broker's clock for device logins (ms); default Date.now. */
  now?: () => number
  /** Hears each refusal and why (a login, a publish, a subscription). */
  onRefused?: (why: string) => void
}

/** The aedes hooks that enforce pbj's topic rules. See {@link createBrokerAcl}. */
export type BrokerAcl = Required<
  Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>
>

type Identity = { role: 'engine' } | { role: 'device'; deviceId: string }

/**
 * The rules of docs/mosquitto/acl for the embedded broker, as aedes hooks, so that a broker anyone on the
 * machine can reach cannot be used to keep a car in the wrong state:
 *
 * - Every client logs in; anonymous clients and wrong passwords are refused at CONNECT.
 * - The engine logs in with its generated password and may use every topic: it alone publishes desired
 *   states.
 * - A device logs in with its lowercase id as username and a fresh signature of its own key as password
 *   ({@link verifyDeviceLogin}): no provisioning, and nobody without the key logs in as the car. Its client
 *   id must be its username (Mosquitto's `use_username_as_clientid`), so no other client can take over the
 *   car's session and keep it offline.
 * - A device publishes only to its own `…/devices/<id>/reported` and subscribes only to its own
 *   `…/devices/<id>/desired`. A refused publish closes its connection (MQTT 3.1.1 has no negative PUBACK);
 *   a refused subscription gets SUBACK 128.
 *
 * @example
 * const aedes = await Aedes.createBroker({ ...createBrokerAcl({ engine: { username, password } }) })
 */
export function createBrokerAcl(options: BrokerAclOptions): BrokerAcl {
  const now = options.now ?? Date.now
  const refused = options.onRefused ?? (() => {})
  const identities = new WeakMap<Client, Identity>()
  const enginePassword = Buffer.from(options.engine.password)

  /** The device id a topic of the form `<prefix>/devices/<id>/<leaf>` names, or null. */
  const deviceOf = (topic: string, leaf: 'desired' | 'reported'): string | null => {
    if (topic.startsWith('$') || /[+#]/.test(topic)) return null
    const levels = topic.split('/')
    if (levels.length < 4 || levels.at(-1) !== leaf || levels.at(-3) !== 'devices') return null
    const prefix = levels.slice(0, -3).join('/')
    if (prefix === '' || (options.topicPrefix !== undefined && prefix !== options.topicPrefix)) return null
    return levels.at(-2) ?? null
  }

  return {
    authenticate(client, username, password, done) {
      const refuse = (returnCode: 2 | 4 | 5, why: string) => {
        refused(`login of ${username ?? 'an anonymous client'} (client id ${client.id}) refused: ${why}`)
        done(Object.assign(new Error(why), { returnCode }) as AuthenticateError, false)
      }
      if (username === undefined || password === undefined) return refuse(5, 'no username and password')
      if (username === options.engine.username) {
        const ok = password.length === enginePassword.length && timingSafeEqual(password, enginePassword)
        if (!ok) return refuse(4, 'wrong password')
        identities.set(client, { role: 'engine' })
        return done(null, true)
      }
      const why = verifyDeviceLogin(username, password.toString('utf8'), now())
      if (why !== null) return refuse(4, why)
      if (client.id !== username) return refuse(2, 'a device must use its id as its client id')
      identities.set(client, { role: 'device', deviceId: username })
      done(null, true)
    },

    authorizePublish(client, packet, callback) {
      const identity = client ? identities.get(client) : undefined
      if (identity?.role === 'engine') return callback(null)
      if (identity && deviceOf(packet.topic, 'reported') === identity.deviceId) return callback(null)
      const who = identity ? `device ${identity.deviceId}` : 'an unknown client'
      refused(`publish of ${who} to ${packet.topic} refused`)
      callback(new Error(`not authorized to publish to ${packet.topic}`))
      // A client that publishes where it may not is misbehaving: disconnected at once, so whatever it has
      // queued behind (a flood of forged commands) is dropped with its socket instead of each being read,
      // parsed and refused while the engine's genuine commands wait their turn on the broker.
      client?.close()
    },

    authorizeSubscribe(client, subscription, callback) {
      const identity = identities.get(client)
      if (identity?.role === 'engine') return callback(null, subscription)
      if (identity && deviceOf(subscription.topic, 'desired') === identity.deviceId) {
        return callback(null, subscription)
      }
      const who = identity ? `device ${identity.deviceId}` : 'an unknown client'
      refused(`subscription of ${who} to ${subscription.topic} refused`)
      callback(null, null)
    },
  }
}
