import { z } from 'zod'
import type { DeviceClass } from '../actions/devices/deviceClass.js'

const url = (field: string, schemes: string[], example: string) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol.replace(':', ''))
      } catch {
        return false
      }
    },
    { message: `${field} must be a ${schemes.map((s) => `${s}://`).join(', ')} URL, e.g. ${example}` },
  )

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { message: 'must be a 0x-prefixed 20-byte hex address (42 characters)' })

/** The config file's schema. Every field is optional: no config at all runs on embedded defaults. */
export const configSchema = z
  .object({
    rpcUrl: z
      .union([
        url('rpcUrl', ['ws', 'wss', 'http', 'https'], 'ws://127.0.0.1:8545'),
        z.array(url('rpcUrl', ['ws', 'wss', 'http', 'https'], 'ws://127.0.0.1:8545')).min(1),
      ])
      .optional(),
    brokerUrl: url('brokerUrl', ['mqtt', 'mqtts', 'tcp', 'ws', 'wss'], 'mqtt://127.0.0.1:1883').optional(),
    broker: z
      .object({
        username: z.string().optional(),
        password: z.string().optional(),
        protocolVersion: z.union([z.literal(4), z.literal(5)]).optional(),
        topicPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_\-/]+$/, { message: 'may hold only letters, digits, _, - and /' })
          .optional(),
      })
      .strict()
      .optional(),
    database: z.string().min(1).optional(),
    functions: z.string().min(1).optional(),
    contracts: z.record(z.string(), z.object({ address }).strict()).optional(),
    secrets: z.record(z.string(), z.string()).optional(),
    operatorKey: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, { message: 'must be a 0x-prefixed 32-byte hex private key' })
      .optional(),
    /** A keystore file (`pbj keys create`), decrypted with PBJ_KEY_PASSPHRASE: the operator key at rest. */
    operatorKeystore: z.string().min(1).optional(),
    limits: z
      .object({
        timeoutMs: z.number().int().min(10).max(300_000).optional(),
        memoryMb: z.number().int().min(8).max(4096).optional(),
        concurrency: z.number().int().min(1).max(1024).optional(),
        /** Largest `ctx.kv` value (UTF-8 bytes of its JSON); default 65536 (64 KiB). */
        kvValueBytes: z
          .number()
          .int()
          .min(1024, { message: 'must be at least 1024 bytes' })
          .max(16 * 1024 * 1024, { message: 'must be at most 16777216 bytes (16 MiB)' })
          .optional(),
        /** Largest total of one function's kv keys and values (bytes); default 1048576 (1 MiB). */
        kvTotalBytes: z
          .number()
          .int()
          .min(1024, { message: 'must be at least 1024 bytes' })
          .max(1024 * 1024 * 1024, { message: 'must be at most 1073741824 bytes (1 GiB)' })
          .optional(),
        isolation: z
          .enum(['thread', 'process'], {
            message:
              "must be 'thread' (isolates in the engine's process, the default) or 'process' (isolates in a " +
              'child process, restarted and its runs retried if it crashes)',
          })
          .optional(),
      })
      .strict()
      .optional(),
    /**
     * The device class whose guard every device command passes at the newest block, e.g.
     * `immobilizerClass({ contract: 'CarLoan' })` from 'pbj'. Default: the immobilizer over contracts.CarLoan
     * when there is one (config/resolveDeviceClass.ts); else none, and every device command is refused.
     */
    deviceClass: z
      .custom<DeviceClass>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as DeviceClass).name === 'string' &&
          typeof (v as DeviceClass).guard === 'function' &&
          typeof (v as DeviceClass).toDesired === 'function',
        { message: "must be a device class, e.g. immobilizerClass({ contract: 'CarLoan' }) from 'pbj'" },
      )
      .optional(),
    /**
     * Prepaid execution (ExecutionBalance): runs are metered, held while the project's balance cannot pay
     * one, and settled on chain every `settleEvery.runs` runs or `settleEvery.ms`. Needs the operator key.
     */
    payment: z
      .object({
        /** The project's id; or give `owner` and `salt` and it is derived (ExecutionBalance.projectIdOf). */
        projectId: z
          .string()
          .regex(/^0x[0-9a-fA-F]{64}$/, { message: 'must be a 0x-prefixed bytes32 project id' })
          .optional(),
        /** The project owner's address: with `salt`, names the project (and lets `pbj deposit` open it). */
        owner: address.optional(),
        /** The project's name under its owner: text (hashed) or a 0x-prefixed bytes32. */
        salt: z.string().min(1).max(200).optional(),
        /** A name from contracts or an address; default "ExecutionBalance". */
        contract: z
          .string()
          .refine((v) => /^0x[0-9a-fA-F]{40}$/.test(v) || /^[A-Za-z_$][\w$]*$/.test(v), {
            message:
              'must be a name from contracts (e.g. "ExecutionBalance") or a 0x-prefixed 20-byte address',
          })
          .optional(),
        settleEvery: z
          .object({
            runs: z.number().int().min(1).optional(),
            ms: z.number().int().min(100).optional(),
          })
          .strict()
          .optional(),
        /** tUSD micros per ETH for converting gas; default 3_000_000_000 ($3,000, the demo rate). */
        ethPriceMicros: z.number().int().min(0).optional(),
      })
      .strict()
      .refine((p) => p.projectId !== undefined || (p.owner !== undefined && p.salt !== undefined), {
        message:
          "needs projectId, or owner and salt (the project is ExecutionBalance.projectIdOf(owner, salt)), e.g. payment: { owner: '0x…', salt: 'my-fleet' }",
      })
      .optional(),
    /** The health server of `pbj start` and `pbj dev`: /healthz, /readyz, /metrics (docs/operations.md). */
    health: z
      .object({
        port: z
          .number({ message: 'must be a port number, e.g. 9464 (0 picks a free port)' })
          .int({ message: 'must be a whole port number, e.g. 9464' })
          .min(0, { message: 'must be 0 (any free port) to 65535' })
          .max(65_535, { message: 'must be 0 (any free port) to 65535' })
          .optional(),
        host: z
          .string()
          .min(1, { message: "must be an address to listen on, e.g. '127.0.0.1' or '0.0.0.0'" })
          .optional(),
        readyLagBlocks: z
          .number()
          .int({ message: 'must be a whole number of blocks, e.g. 5' })
          .min(0, { message: 'must be 0 or more blocks' })
          .optional(),
      })
      .strict()
      .optional(),
    chain: z
      .object({
        pollingIntervalMs: z.number().int().min(10).max(60_000).optional(),
        startBlock: z.union([z.literal('latest'), z.number().int().min(0)]).optional(),
        /**
         * Deepest reorg rolled back to a common block (default 250; at most 250, the undo records the store
         * keeps). A deeper one is logged as an error, rolled back as far as kept and resumed from the new chain.
         */
        maxReorgDepth: z.number().int().min(1).max(250).optional(),
      })
      .strict()
      .optional(),
    /** Chain-level reconciliation of every device: `intervalMs` between periodic passes (default 60 000; 0 never). */
    reconcile: z
      .object({ intervalMs: z.number().int().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict()

/** What a user writes in pbj.config.ts. */
export type PbjConfig = z.input<typeof configSchema>
