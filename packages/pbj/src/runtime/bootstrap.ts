import { hostNamespaces } from '../function/hostMethods.js'

/** Log lines a run may keep, and characters per line; the rest are dropped and counted. */
export const logLimits = { maxLines: 200, maxChars: 4096 } as const

/** The filename of the bootstrap script, so its frames can be cut out of users' stack traces. */
export const bootstrapFilename = 'pbj:bootstrap'

/**
 * Source of the script that prepares a function's context before its bundle runs; its `ctx.chain`,
 * `ctx.devices` and `ctx.kv` stubs are generated from the host-method table. It takes the three host
 * references (`__pbj_bridge` for ctx calls, in batches of the calls made in one turn, `__pbj_log` for log lines, `__pbj_result` for results) off the
 * global object into its closure, installs `console`, and evaluates to `attach()`, which binds the bundle's
 * default export and returns `run(batch)`. `run` takes `[token, entry, input]` triples and runs them side
 * by side (one host→isolate transition for many runs), each with a fresh ctx; each run's envelope goes to
 * the host as soon as the run ends, with those of the runs that ended in the same microtask turns, as
 * `[token, envelope]` pairs: `{ ok: true, value, sent, dropped }`, `{ ok: false, thrown, sent,
 * dropped }` or `{ ok: false, unsendable, sent, dropped }` (the value could not be copied out). So the host
 * learns when each run ends (its watchdog times each run) and what finished before an isolate was
 * disposed. `run` resolves to the number of runs once all have ended; it never rejects. A run whose input
 * carries `answers` (RunInputJson.answers) gets each of them, once, for a `ctx.chain.read` whose arguments
 * have its key, without crossing to the host.
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
  const resultSink = g.__pbj_result
  delete g.__pbj_bridge
  delete g.__pbj_log
  delete g.__pbj_result
  const MAX_LINES = ${logLimits.maxLines}
  const MAX_CHARS = ${logLimits.maxChars}
  const HOST_NAMESPACES = ${JSON.stringify(hostNamespaces)}
  const { freeze, keys, getPrototypeOf } = Object
  const objectProto = Object.prototype
  const isArray = Array.isArray
  const stringify = JSON.stringify
  const parse = JSON.parse
  const BigIntCtor = BigInt
  const ErrorCtor = Error
  const TypeErrorCtor = TypeError
  const now = Date.now
  const isFiniteNumber = Number.isFinite
  const objectIs = Object.is
  const hostErrors = new WeakMap()
  const callOptions = { arguments: { copy: true }, result: { promise: true, copy: true } }
  const resultOptions = { arguments: { copy: true } }
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

  // ctx calls made in the same turn (a Promise.all of reads, the first reads of runs started side by side)
  // cross to the host as one batch: one copy each way instead of one per call, and no call waits for the
  // host to take the one before it. A batch whose arguments cannot be copied never reached the host (the
  // host copies the replies itself, so a result never fails a batch): it is sent again call by call, so
  // only the call at fault fails.
  let outgoing = []
  function flushCalls() {
    const batch = outgoing
    outgoing = []
    bridge.apply(undefined, [batch.map((c) => [c.run.token, c.method, c.args])], callOptions).then(
      (replies) => {
        for (let i = 0; i < batch.length; i++) settleCall(batch[i], replies[i])
      },
      () => {
        if (batch.length === 1) return void batch[0].fail()
        for (const c of batch) {
          bridge.apply(undefined, [[[c.run.token, c.method, c.args]]], callOptions).then(
            (replies) => settleCall(c, replies[0]),
            () => c.fail(),
          )
        }
      },
    )
  }
  function settleCall(c, reply) {
    if (reply.ok) return c.resolve(reply.value)
    const error = new ErrorCtor(reply.message)
    hostErrors.set(error, { method: c.method, id: reply.id })
    c.reject(error)
  }

  // The key of a call's arguments (a copy of runtime/answerKeyOf.ts, which says why it is made so).
  function tagged(key, value) {
    const raw = this[key]
    switch (typeof raw) {
      case 'string': return 's' + raw
      case 'bigint': return 'n' + raw
      case 'undefined': return 'u'
      case 'boolean': return raw
      case 'number':
        if (!isFiniteNumber(raw) || objectIs(raw, -0)) throw new ErrorCtor('no key')
        return raw
      case 'object': {
        if (raw === null) return null
        const proto = getPrototypeOf(raw)
        if (value === raw && (isArray(raw) || proto === objectProto || proto === null)) return raw
        throw new ErrorCtor('no key')
      }
      default: throw new ErrorCtor('no key')
    }
  }
  function answerKeyOf(args) {
    try {
      return stringify(args, tagged)
    } catch {
      return null
    }
  }
  // A read the host answered before the run (its last run of the same key made it; see
  // RunInputJson.answers): answered here, once, if this call's arguments are the same. Any other call, or
  // the same one again, crosses.
  function takeAnswer(run, args) {
    const key = answerKeyOf(args)
    if (key === null) return run
    const answers = run.answers
    for (let i = 0; i < answers.length; i++) {
      const answer = answers[i]
      if (answer !== null && answer[0] === key) {
        answers[i] = null
        return answer[1]
      }
    }
    return run
  }

  function hostCall(run, method, args) {
    if (run.done) return Promise.reject(new ErrorCtor('ctx.' + method + '() was called after the run finished; await every ctx call'))
    if (run.answers !== null && method === 'chain.read') {
      // The run's own state stands for "no answer": no answer can be it.
      const value = takeAnswer(run, args)
      if (value !== run) return new Promise((resolve) => resolve(value))
    }
    return new Promise((resolve, reject) => {
      const fail = () =>
        reject(new TypeErrorCtor('ctx.' + method + '() could not pass its arguments or result through the sandbox; ' +
          'use plain data: strings, numbers, bigints, booleans, arrays, objects'))
      if (outgoing.length === 0) Promise.resolve().then(flushCalls)
      outgoing.push({ run, method, args, resolve, reject, fail })
    })
  }

  // The job's JSON (see RunInputJson), parsed here rather than on the engine's thread; same format as the
  // engine's parseJson: an object whose only key is "$bigint" is a bigint.
  function reviveBigint(key, v) {
    if (v !== null && typeof v === 'object' && typeof v.$bigint === 'string' && keys(v).length === 1) return BigIntCtor(v.$bigint)
    return v
  }
  function toInput(raw) {
    if (typeof raw.json !== 'string') return raw
    const input = parse(raw.json, reviveBigint)
    input.run = raw.run
    input.secrets = raw.secrets
    return input
  }

  // A call carries only the ABI entries it needs (its function and the errors a revert may name): a whole
  // contract ABI is walked and copied out of the isolate on every read otherwise (~0.5 ms for CarLoan's).
  function slimmed(run, method) {
    return (...args) => {
      const params = args[0]
      if (params && typeof params === 'object' && isArray(params.abi)) {
        const abi = params.abi.filter(
          (item) =>
            item && (item.type === 'error' || (item.type === 'function' && item.name === params.functionName)),
        )
        args = [{ ...params, abi }, ...args.slice(1)]
      }
      return hostCall(run, method, args)
    }
  }

  function makeCtx(run, input) {
    const logger = (level) => (...args) => log(run, level, args)
    const ctx = { block: input.block, chainId: input.chainId, run: freeze(input.run) }
    // ctx.chain, ctx.devices, ctx.kv: one stub per entry of the host-method table, in its order.
    for (const namespace of keys(HOST_NAMESPACES)) {
      const methods = {}
      for (const m of HOST_NAMESPACES[namespace]) {
        methods[m.name] = m.slimAbi ? slimmed(run, m.method) : (...args) => hostCall(run, m.method, args)
      }
      ctx[namespace] = freeze(methods)
    }
    ctx.log = freeze({ info: logger('info'), warn: logger('warn'), error: logger('error') })
    ctx.secrets = freeze(input.secrets || {})
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

  async function runOne(token, entry, input) {
    const answers = isArray(input.answers) ? input.answers : null
    const state = { token, sent: 0, dropped: 0, done: false, answers }
    current = state
    try {
      const value = await definition[entry](makeCtx(state, toInput(input)))
      return { ok: true, value: isPlain(value) ? value : undefined, sent: state.sent, dropped: state.dropped }
    } catch (thrown) {
      return { ok: false, thrown: describe(thrown), sent: state.sent, dropped: state.dropped }
    } finally {
      state.done = true
      if (current === state) current = null
    }
  }

  // Envelopes of runs that ended close together, not yet sent: they go to the host in one call (one
  // crossing and one copy for a batch's worth of runs, instead of one each).
  let outbox = null
  const hop = () => undefined

  function sendAlone(token, envelope) {
    try {
      resultSink.applyIgnored(undefined, [[[token, envelope]]], resultOptions)
    } catch (error) {
      const unsendable = String(error && error.message)
      const failed = { ok: false, unsendable, sent: envelope.sent, dropped: envelope.dropped }
      resultSink.applyIgnored(undefined, [[[token, failed]]], resultOptions)
    }
  }

  function flush() {
    if (outbox === null) return
    const items = outbox
    outbox = null
    try {
      resultSink.applyIgnored(undefined, [items], resultOptions)
    } catch {
      // One of them could not be copied out: each alone, so only that run says so.
      for (const item of items) sendAlone(item[0], item[1])
    }
  }

  // Sent a few microtask turns after the first one ends, not after any time: the runs of a batch that end
  // together (those whose handlers make no ctx call end within the same turns) go in one call, and a run
  // that ends after a ctx call goes at once with whatever ended beside it.
  function send(token, envelope) {
    if (outbox === null) {
      outbox = []
      Promise.resolve().then(hop).then(hop).then(flush)
    }
    outbox.push([token, envelope])
  }

  async function run(batch) {
    // Side by side: a function's runs mostly wait on ctx calls (chain reads), so a block's runs overlap
    // and their reads go to the node together; each envelope goes to the host as its run ends (see send).
    await Promise.all(
      batch.map(async (item) => {
        send(item[0], await runOne(item[0], item[1], item[2]))
      }),
    )
    flush()
    return batch.length
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
