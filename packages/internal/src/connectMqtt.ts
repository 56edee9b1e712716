import { connect, type IClientOptions, type MqttClient } from 'mqtt'

/**
 * Options of {@link connectMqtt}: mqtt.js's own, and a login read anew at every (re)connect.
 *
 * @example
 * const options: ConnectMqttOptions = { clientId: 'car-1', reconnectPeriod: 500, login: () => deviceLogin(key) }
 */
export type ConnectMqttOptions = IClientOptions & {
  /**
   * Credentials asked for at the first connect and again before each reconnect, for logins that are only
   * valid for a few minutes (a car signs a fresh one each time). Fixed credentials can go in the options.
   */
  login?: () => Pick<IClientOptions, 'username' | 'password'>
}

/**
 * Starts an mqtt.js client the way both the engine and the car use one: TCP no-delay on every connection,
 * and the login refreshed before each reconnect. Returns at once; mqtt.js connects in the background, so
 * listen for `connect` and `error`. Throws what mqtt.js throws for a URL it cannot use: callers wrap it in
 * their own error.
 *
 * @example
 * const client = connectMqtt('mqtt://127.0.0.1:1883', { clientId: 'pbj-engine-pub', reconnectPeriod: 500 })
 * client.once('connect', () => console.log('connected'))
 */
export function connectMqtt(url: string, options: ConnectMqttOptions = {}): MqttClient {
  const { login, ...clientOptions } = options
  const client = connect(url, { ...clientOptions, ...login?.() })
  // Nagle would hold a small packet (a command, a report) behind the PUBACK just sent, adding tens of ms to
  // each. mqtt.js creates the socket itself and has no option for it: set it on every (re)connection.
  const noDelay = () =>
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true)
  noDelay()
  client.on('connect', noDelay)
  if (login) client.on('reconnect', () => Object.assign(client.options, login()))
  return client
}

/**
 * Closes a client cleanly: a graceful end lets in-flight publishes (the last report, a command) finish, but
 * would wait forever on a dead broker, so after `timeoutMs` (or when the graceful end fails) it is forced.
 *
 * @example
 * await endMqtt(client)
 */
export async function endMqtt(client: MqttClient, timeoutMs = 1_000): Promise<void> {
  if (!client.connected) return void (await client.endAsync(true))
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'late')
    timer.unref()
  })
  const ended = await Promise.race([client.endAsync(false).then(() => 'ended' as const), late]).catch(
    () => 'failed' as const,
  )
  clearTimeout(timer)
  if (ended !== 'ended') await client.endAsync(true)
}
