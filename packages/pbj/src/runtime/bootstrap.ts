/** Log lines a run may keep, and characters per line; the rest are dropped and counted. */
export const logLimits = { maxLines: 200, maxChars: 4096 } as const

/** The filename of the bootstrap script, so its frames can be cut out of users' stack traces. */
export const bootstrapFilename = 'pbj:bootstrap'

/**
 * Source of the script that prepares a function's context before its bundle runs. It takes the two host
 * references (`__pbj_bridge` for ctx calls, `__pbj_log` for log lines) off the global object into its
 * closure, installs `console`, and evaluates to `attach()`, which binds the bundle's default export and
 * returns `run(token, entry, input)`. `run` builds a fresh ctx per run and resolves to an envelope:
 * `{ ok: true, value, sent, dropped }` or `{ ok: false, thrown, sent, dropped }`; it never rejects.
 *
 * Strict mode on purpose: user functions that inspect `fn.caller` or stack frames get null for strict
 * callers, so nothing of this closure leaks.
 *
 * @example
 * const attach = await (await isolate.compileScript(bootstrapSource)).run(context, { reference: true })
 */
export const bootstrapSource = String.raw`(() => {
  'use strict'
  const g = globalThis
  const bridge = g.__pbj_bridge
  const logSink = g.__pbj_log
  delete g.__pbj_bridge
  delete g.__pbj_log
  const MAX_LINES = ${logLimits.maxLines}
  const MAX_CHARS = ${logLimits.maxChars}
  const { freeze, keys, getPrototypeOf } = Object
  const objectProto = Object.prototype
  const isArray = Array.isArray
  const stringify = JSON.stringify
  const ErrorCtor = Error
  const TypeErrorCtor = TypeError
  const now = Date.now
  const hostErrors = new WeakMap()
  const callOptions = { arguments: { copy: true }, result: { promise: true, copy: true } }
  let definition = null
  let current = null

  function formatValue(value) {
    if (typeof value === 'string') return value
    if (typeof value === 'bigint') return value + 'n'
    if (typeof value === 'function') return '[Function' + (value.name ? ' ' + value.name : '') + ']'
    if (value instanceof ErrorCtor) return value.stack ? String(value.stack) : value.name + ': ' + value.message
    if (value === null || typeof value !== 'object') return String(value)
    const ancestors = []
    const json = stringify(value, function (key, v) {
      if (typeof v === 'bigint') return '__pbj_bigint__' + v
      if (typeof v === 'function') return '[Function]'
      if (typeof v !== 'object' || v === null) return v
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop()
      if (ancestors.includes(v)) return '[Circular]'
      ancestors.push(v)
      return v
    })
    return json === undefined ? String(value) : json.replace(/"__pbj_bigint__(-?\d+)"/g, '$1n')
  }

  function log(run, level, args) {
    if (run === null || run.done) return
    if (run.sent >= MAX_LINES) return void run.dropped++
    let message
    try {
      message = args.map(formatValue).join(' ')
    } catch (error) {
      message = '[log line could not be formatted: ' + (error && error.message) + ']'
    }
    if (message.length > MAX_CHARS) message = message.slice(0, MAX_CHARS) + '... (cut at ' + MAX_CHARS + ' characters)'
    run.sent++
    logSink.applyIgnored(undefined, [run.token, level, message, now()])
  }

  async function hostCall(run, method, args) {
    if (run.done) throw new ErrorCtor('ctx.' + method + '() was called after the run finished; await every ctx call')
    let reply
    try {
      reply = await bridge.apply(undefined, [run.token, method, args], callOptions)
    } catch (error) {
      throw new TypeErrorCtor('ctx.' + method + '() could not pass its arguments or result through the sandbox (' +
        (error && error.message) + '); use plain data: strings, numbers, bigints, booleans, arrays, objects')
    }
    if (reply.ok) return reply.value
    const error = new ErrorCtor(reply.message)
    hostErrors.set(error, { method, id: reply.id })
    throw error
  }

  function makeCtx(run, input) {
    const call = (method) => (...args) => hostCall(run, method, args)
    const logger = (level) => (...args) => log(run, level, args)
    const ctx = {
      block: input.block,
      chainId: input.chainId,
      run: freeze(input.run),
      chain: freeze({ read: call('chain.read'), write: call('chain.write') }),
      devices: freeze({
        lock: call('devices.lock'),
        unlock: call('devices.unlock'),
        get: call('devices.get'),
        warn: call('devices.warn'),
      }),
      kv: freeze({ get: call('kv.get'), set: call('kv.set'), delete: call('kv.delete') }),
      log: freeze({ info: logger('info'), warn: logger('warn'), error: logger('error') }),
      secrets: freeze(input.secrets || {}),
    }
    for (const key of ['event', 'deadline', 'condition', 'schedule']) {
      if (input[key] !== undefined) ctx[key] = input[key]
    }
    return freeze(ctx)
  }

  function isPlain(root) {
    const ancestors = new Set()
    let budget = 100000
    const walk = (v, depth) => {
      if (v === null || v === undefined) return true
      const type = typeof v
      if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint') return true
      if (type !== 'object' || depth > 64 || --budget < 0 || ancestors.has(v)) return false
      const proto = getPrototypeOf(v)
      if (!isArray(v) && proto !== objectProto && proto !== null) return false
      ancestors.add(v)
      const ok = isArray(v) ? v.every((item) => walk(item, depth + 1)) : keys(v).every((k) => walk(v[k], depth + 1))
      ancestors.delete(v)
      return ok
    }
    try {
      return walk(root, 0)
    } catch {
      return false
    }
  }

  function describe(thrown) {
    try {
      if (thrown instanceof ErrorCtor) {
        const host = hostErrors.get(thrown)
        return {
          kind: 'error',
          name: String(thrown.name),
          message: String(thrown.message),
          stack: thrown.stack ? String(thrown.stack) : undefined,
          hostMethod: host ? host.method : undefined,
          hostId: host ? host.id : undefined,
        }
      }
      return { kind: 'value', text: typeof thrown === 'string' ? stringify(thrown) : formatValue(thrown) }
    } catch {
      return { kind: 'value', text: '[a value that could not be printed]' }
    }
  }

  async function run(token, entry, input) {
    const state = { token, sent: 0, dropped: 0, done: false }
    current = state
    try {
      const value = await definition[entry](makeCtx(state, input))
      return { ok: true, value: isPlain(value) ? value : undefined, sent: state.sent, dropped: state.dropped }
    } catch (thrown) {
      return { ok: false, thrown: describe(thrown), sent: state.sent, dropped: state.dropped }
    } finally {
      state.done = true
      if (current === state) current = null
    }
  }

  const consoleMethod = (level) => (...args) => log(current, level, args)
  g.console = {
    log: consoleMethod('info'),
    info: consoleMethod('info'),
    debug: consoleMethod('info'),
    warn: consoleMethod('warn'),
    error: consoleMethod('error'),
  }

  return function attach(globalName) {
    const namespace = g[globalName]
    const candidate = namespace == null ? undefined : namespace.default
    if (candidate === null || typeof candidate !== 'object' || typeof candidate.handler !== 'function') {
      throw new ErrorCtor('the default export is not defineFunction({ trigger, handler })')
    }
    definition = candidate
    return run
  }
})()
`
