import { describe, expect, it } from 'vitest'
import { BrokerConnectError, BrokerPublishError } from './broker.js'
import {
  AnvilError,
  DeepReorgError,
  HeadSubscriptionError,
  RpcError,
  TransactionRevertedError,
} from './chain.js'
import { InvalidFlagError, MissingArgumentError, UnknownSubcommandError } from './cli.js'
import { ConfigFileError, MissingConfigError } from './config.js'
import {
  DuplicateFunctionError,
  FunctionBuildError,
  FunctionFailedError,
  FunctionRunError,
  SandboxCrashedError,
  SandboxLostError,
  UnknownGrantError,
} from './function.js'
import { JobNotRetryableError, NoDatabaseError } from './store.js'

describe('each error class writes its message from its parameters', () => {
  it('broker failures are retryable and name the broker and the topic', () => {
    const at = { url: 'mqtt://b:1883', topic: 'pbj/devices/0x1/desired', deviceId: '0x1', version: 3 }
    const timeout = new BrokerPublishError({ ...at, reason: 'timeout', timeoutMs: 500, connected: true })
    expect(timeout.shortMessage).toBe(
      'MQTT broker mqtt://b:1883 did not acknowledge pbj/devices/0x1/desired within 500 ms',
    )
    expect(timeout.details).toBe('Connected, but no PUBACK came back.')
    expect(timeout.retry).toBe('retryable')
    expect(timeout.meta).toEqual({ deviceId: '0x1', version: 3 })
    const refused = new BrokerConnectError({
      url: 'mqtt://b',
      timeoutMs: 1,
      refusal: new Error('bad'),
      lastError: 'bad',
    })
    expect(refused.shortMessage).toBe('MQTT broker at mqtt://b refused the connection')
    expect(refused.hint).toContain('username, password')
  })

  it('function load errors stay FunctionBuildErrors (they cross the sandbox boundary as such)', () => {
    const twin = new DuplicateFunctionError({ name: 'a', file: 'b/a.ts', twinFile: 'a.ts' })
    expect(twin).toBeInstanceOf(FunctionBuildError)
    expect(twin.shortMessage).toBe("b/a.ts: another function is already named 'a'")
    const secret = new UnknownGrantError({
      file: 'f.ts',
      functionName: 'f',
      field: 'capabilities.secrets',
      kind: 'secret',
      value: 'NOPE',
      known: [],
    })
    expect(secret.shortMessage).toBe(
      "f.ts: capabilities.secrets names 'NOPE', which is not set in the config's secrets",
    )
    expect(secret.details).toBe('Known secrets: (none)')
    expect(secret.retry).toBe('user')
  })

  it('CLI usage errors say what the command needs', () => {
    expect(
      new MissingArgumentError({ command: 'runs retry', needs: 'a job id or a run id' }).shortMessage,
    ).toBe('pbj runs retry needs a job id or a run id')
    expect(
      new UnknownSubcommandError({
        command: 'keys',
        sub: undefined,
        expected: ['create', 'import', 'export'],
        hint: '',
      }).shortMessage,
    ).toBe('pbj keys needs create, import or export')
    expect(
      new InvalidFlagError({ flag: '--chain-id', value: 'x', expected: 'a positive integer' }).shortMessage,
    ).toBe('--chain-id must be a positive integer, got "x"')
    expect(new NoDatabaseError({ database: '/p/.pbj/dev.db' }).shortMessage).toBe(
      'No pbj database at /p/.pbj/dev.db',
    )
    expect(new JobNotRetryableError({ jobId: 'j', status: 'done' }).shortMessage).toBe(
      'Job j is done; only failed or dead jobs can be retried',
    )
  })

  it('config and chain errors', () => {
    expect(new ConfigFileError({ file: 'pbj.config.ts', problem: 'no-default-export' }).shortMessage).toBe(
      'pbj.config.ts has no default export',
    )
    expect(new MissingConfigError({ field: 'rpcUrl', message: 'No rpcUrl in the config' }).meta).toEqual({
      field: 'rpcUrl',
    })
    expect(new TransactionRevertedError({ hash: '0xab' }).shortMessage).toBe('Transaction 0xab reverted')
    const other = new AnvilError({ problem: 'other-node', rpcUrl: 'http://x', answered: 1, chainId: 31337 })
    expect(other.shortMessage).toBe('Another node answered on http://x (chain id 1, not 31337)')
  })

  it('subclasses keep their family: the name run records carry, and the retry class', () => {
    const lost = new SandboxLostError({ problem: 'result-lost', functionName: 'lock' })
    expect(lost).toBeInstanceOf(SandboxCrashedError)
    expect(lost.name).toBe('SandboxCrashedError')
    expect(lost.retry).toBe('retryable')
    expect(lost.shortMessage).toBe("The result of a run of 'lock' was lost")
    const timeout = new FunctionFailedError({ functionName: 'lock', reason: 'timeout', timeoutMs: 50 })
    expect(timeout).toBeInstanceOf(FunctionRunError)
    expect(timeout.name).toBe('FunctionRunError')
    expect(timeout.reason).toBe('timeout')
    expect(timeout.retry).toBe('user')
    expect(timeout.shortMessage).toBe("Function 'lock' ran longer than its 50 ms timeout")
    const threw = new FunctionFailedError({
      functionName: 'f',
      reason: 'threw',
      errorName: 'TypeError',
      message: 'x is undefined',
      details: undefined,
    })
    expect(threw.shortMessage).toBe("Function 'f' threw: TypeError: x is undefined")
    const heads = new HeadSubscriptionError({ url: 'ws://n', problem: 'failed', cause: new Error('closed') })
    expect(heads).toBeInstanceOf(RpcError)
    expect(heads.name).toBe('RpcError')
    expect(heads.shortMessage).toBe('newHeads at ws://n: closed')
    const deep = new DeepReorgError({
      maxDepth: 64,
      ourHead: { number: 9n, hash: '0xa' },
      theirHash: '0xb',
      oldestKept: 3n,
    })
    expect(deep.shortMessage).toBe("Reorg deeper than pbj's window: no common block in the last 64 blocks")
    expect(deep.details).toBe("pbj's head is 9 (0xa); the node serves 0xb there.")
    expect(deep.oldestKept).toBe(3n)
  })
})
