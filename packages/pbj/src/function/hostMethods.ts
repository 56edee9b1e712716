import type { Abi, ContractFunctionArgs, ContractFunctionName, ContractFunctionReturnType } from 'viem'
import { z } from 'zod'
import type {
  DeviceCommandResult,
  DeviceView,
  ImmobilizerPolicyInput,
  KvValue,
  ReadParams,
  WriteParams,
  WriteResult,
} from './ctx.js'
import { type HostMethodSpec, hostMethod } from './hostMethod.js'

/** A device id: what every `ctx.devices.*` call names first. */
const deviceId = z
  .string({ error: 'must be a 0x-prefixed 20-byte address' })
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address')

/**
 * The options of a device command as the platform reads them: `reason` and `message` (their length and
 * characters are checked with the capabilities, checkDeviceText); the rest is the device class's own
 * (e.g. the immobilizer's `lockAt`, `policy`, `final`), which its `toDesired` checks. Missing or null: none.
 */
const deviceOptions = z
  .looseObject(
    { reason: z.string().optional(), message: z.string().optional() },
    {
      error: 'must be an options object',
    },
  )
  .nullish()
  .transform((o) => o ?? {})

/** A kv key: any value becomes its string, as `String(key)` does. */
const kvKey = z.unknown().transform((v) => String(v))

type ViewFn<abi extends Abi> = ContractFunctionName<abi, 'pure' | 'view'>
type WriteFn<abi extends Abi> = ContractFunctionName<abi, 'nonpayable' | 'payable'>

/** Options of `ctx.devices.lock`. */
export type LockOptions = {
  reason?: string
  message?: string
  lockAt?: bigint | number
  policy?: ImmobilizerPolicyInput
}

/** Options of `ctx.devices.warn`. */
export type WarnOptions = {
  final?: boolean
  message?: string
  reason?: string
  since?: bigint | number
  /** With `final`: when the warning stage began (the missed due date), for a car that missed it. */
  warningSince?: bigint | number
  lockAt: bigint | number
  policy: ImmobilizerPolicyInput
}

/**
 * Every `ctx` call that leaves the sandbox, one entry each, named `namespace.method` as it is called
 * (`ctx.devices.lock` → `'devices.lock'`). The sandbox's method list, the bootstrap's stubs and the `ctx`
 * types ({@link HostContext}) derive from it; the engine serves each one with a handler typed against it
 * (engine/hostHandlers.ts), so a missing or mistyped handler does not compile. Entries are in the order
 * they appear on `ctx`.
 */
export const hostMethods = {
  'chain.read': hostMethod<
    <
      const abi extends Abi,
      functionName extends ViewFn<abi>,
      const args extends ContractFunctionArgs<abi, 'pure' | 'view', functionName>,
    >(
      params: ReadParams<abi, functionName, args>,
    ) => Promise<ContractFunctionReturnType<abi, 'pure' | 'view', functionName, args>>
  >()({
    args: z.tuple(
      [
        z.object(
          {
            contract: z.string({ error: 'must be a contract name from the config or an address' }).min(1),
            abi: z.custom<Abi>((v) => Array.isArray(v), { error: 'must be an ABI (an array)' }),
            functionName: z.string({ error: 'must be a string' }),
            args: z.array(z.unknown(), { error: 'must be an array' }).optional(),
            blockNumber: z
              .union([z.bigint(), z.literal('latest')], { error: "must be a bigint or 'latest'" })
              .optional(),
          },
          { error: 'must be { contract, abi, functionName, args? }' },
        ),
      ],
      z.unknown(),
    ),
    argNames: ['params'],
    usage: 'ctx.chain.read({ contract, abi, functionName, args?, blockNumber? })',
    meter: null,
    slimAbi: true,
  }),
  /**
   * Sends a transaction from the operator account. Idempotent per run: a retried run gets back the
   * transaction its earlier attempt sent, never a second one.
   */
  'chain.write': hostMethod<
    <
      const abi extends Abi,
      functionName extends WriteFn<abi>,
      const args extends ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>,
    >(
      params: WriteParams<abi, functionName, args>,
    ) => Promise<WriteResult>
  >()({
    // Checked by chainWrite (a TxRefusedError, after the check that there is an operator key to send from).
    args: z.tuple([z.unknown()], z.unknown()),
    argNames: ['params'],
    usage: 'ctx.chain.write({ contract, abi, functionName, args?, value?, gas? })',
    meter: { count: 'writes', when: 'asked' },
    slimAbi: true,
  }),
  /**
   * Disables the car's next start. With the loan's `lockAt` and `policy` the car can check the warnings it
   * showed; a car refuses a disable it was not warned of (and shows the warning instead).
   */
  'devices.lock': hostMethod<(deviceId: string, options?: LockOptions) => Promise<DeviceCommandResult>>()({
    args: z.tuple([deviceId, deviceOptions], z.unknown()),
    argNames: ['deviceId', 'options'],
    usage: 'ctx.devices.lock(deviceId, { reason?, message?, lockAt?, policy? })',
    meter: { count: 'deviceMessages', when: 'served' },
  }),
  'devices.unlock': hostMethod<
    (deviceId: string, options?: { reason?: string }) => Promise<DeviceCommandResult>
  >()({
    args: z.tuple([deviceId, deviceOptions], z.unknown()),
    argNames: ['deviceId', 'options'],
    usage: 'ctx.devices.unlock(deviceId, { reason? })',
    meter: { count: 'deviceMessages', when: 'served' },
  }),
  'devices.get': hostMethod<(deviceId: string) => Promise<DeviceView>>()({
    args: z.tuple([deviceId], z.unknown()),
    argNames: ['deviceId'],
    usage: 'ctx.devices.get(deviceId)',
    meter: null,
  }),
  /**
   * Shows the warning (or, with `final`, the final warning) that must come before a disable: `since` is
   * when the stage began on chain (default: the block's time), `lockAt` when the car may be disabled.
   */
  'devices.warn': hostMethod<(deviceId: string, options: WarnOptions) => Promise<DeviceCommandResult>>()({
    args: z.tuple([deviceId, deviceOptions], z.unknown()),
    argNames: ['deviceId', 'options'],
    usage: 'ctx.devices.warn(deviceId, { final?, message?, reason?, since?, warningSince?, lockAt, policy })',
    meter: { count: 'deviceMessages', when: 'served' },
  }),
  'kv.get': hostMethod<<T extends KvValue = KvValue>(key: string) => Promise<T | null>>()({
    args: z.tuple([kvKey], z.unknown()),
    argNames: ['key'],
    usage: 'ctx.kv.get(key)',
    meter: null,
  }),
  'kv.set': hostMethod<(key: string, value: KvValue) => Promise<void>>()({
    // A missing value is stored as null.
    args: z.tuple([kvKey, z.unknown().transform((v) => v ?? null)], z.unknown()),
    argNames: ['key', 'value'],
    usage: 'ctx.kv.set(key, value)',
    meter: null,
  }),
  'kv.delete': hostMethod<(key: string) => Promise<void>>()({
    args: z.tuple([kvKey], z.unknown()),
    argNames: ['key'],
    usage: 'ctx.kv.delete(key)',
    meter: null,
  }),
} as const satisfies Record<`${string}.${string}`, HostMethodSpec>

type Table = typeof hostMethods

/** The ctx calls that reach the host, e.g. `'devices.lock'`. */
export type HostMethod = keyof Table

/** The host methods in a list, in the order of the table, for checks. */
export const hostMethodNames = Object.keys(hostMethods) as HostMethod[]

/** A method's `ctx` signature, as the table declares it. */
export type HostSignature<method extends HostMethod> = NonNullable<Table[method]['signature']>

/** A method's arguments once they passed its schema: what its handler gets. */
export type HostArgs<method extends HostMethod> = z.output<Table[method]['args']>

/** What a method's handler resolves to (the sandbox copies it back in). */
export type HostResult<method extends HostMethod> = Awaited<ReturnType<HostSignature<method>>>

/** The namespaces of `ctx` that host methods live in (`chain`, `devices`, `kv`). */
export type HostNamespace = NamespaceOf<HostMethod>
type NamespaceOf<method> = method extends `${infer namespace}.${string}` ? namespace : never

/** `ctx.chain`, `ctx.devices`, `ctx.kv`: each namespace's methods, with their signatures from the table. */
export type HostContext = {
  [namespace in HostNamespace]: {
    [method in HostMethod as method extends `${namespace}.${infer name}`
      ? name
      : never]: HostSignature<method>
  }
}

/**
 * The bootstrap's stubs: for each namespace, its methods in table order, and whether a method's ABI is
 * slimmed before it is copied out of the sandbox. Plain data, interpolated into the bootstrap's source.
 */
export const hostNamespaces = (() => {
  const namespaces: Record<string, { name: string; method: HostMethod; slimAbi: boolean }[]> = {}
  for (const method of hostMethodNames) {
    const [namespace = '', name = ''] = method.split('.')
    const spec: HostMethodSpec = hostMethods[method]
    const methods = namespaces[namespace] ?? []
    methods.push({ name, method, slimAbi: spec.slimAbi === true })
    namespaces[namespace] = methods
  }
  return namespaces
})()
