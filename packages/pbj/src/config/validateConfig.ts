import type { z } from 'zod'
import { InvalidConfigError } from '../internal/errors.js'
import { configSchema, type PbjConfig } from './schema.js'

const hints: Record<string, string> = {
  rpcUrl: 'Set rpcUrl to your node, e.g. "ws://127.0.0.1:8545", or remove it to use the embedded Anvil.',
  brokerUrl:
    'Set brokerUrl to your MQTT broker, e.g. "mqtt://127.0.0.1:1883", or remove it for the embedded one.',
  database: 'Set database to a file path such as ".pbj/pbj.db" (or ":memory:").',
  functions: 'Set functions to the folder holding your function files, e.g. "functions".',
  limits:
    "limits.timeoutMs is 10–300000 ms, limits.memoryMb 8–4096, limits.concurrency 1–1024, limits.isolation 'thread' or 'process', limits.kvValueBytes (default 65536) and limits.kvTotalBytes (default 1048576) in bytes.",
  contracts:
    'contracts maps a name to { address: "0x…" }, e.g. contracts: { CarLoan: { address: "0x5Fb…" } }.',
  operatorKey: 'operatorKey is the engine key as 0x followed by 64 hex digits.',
  operatorKeystore:
    'operatorKeystore is the path of a keystore file made by `pbj keys create` or `pbj keys import`.',
  deviceClass:
    "deviceClass is a device class object, e.g. deviceClass: immobilizerClass({ contract: 'CarLoan' }) with import { immobilizerClass } from 'pbj'.",
}

const describe = (issue: z.core.$ZodIssue, input: unknown): string => {
  const path = issue.path.map(String).join('.')
  let got: unknown = input
  for (const p of issue.path)
    got = got && typeof got === 'object' ? (got as Record<string, unknown>)[p as string] : undefined
  const shown = issue.code === 'unrecognized_keys' ? '' : `; got ${JSON.stringify(got) ?? 'undefined'}`
  if (issue.code === 'unrecognized_keys') {
    return `${path ? `${path}: ` : ''}unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
  }
  return `${path || '(config)'}: ${issue.message}${shown}`
}

/**
 * Validates a config object. Every problem is listed with its field, what was wrong and the fix.
 *
 * @example
 * validateConfig({ rpcUrl: 'localhost' }, 'pbj.config.ts') // throws InvalidConfigError naming rpcUrl
 */
export function validateConfig(input: unknown, source: string): PbjConfig {
  const result = configSchema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues
  const fields = [...new Set(issues.map((i) => String(i.path[0] ?? '')))]
  const fixes = fields.map((f) => hints[f]).filter((h): h is string => Boolean(h))
  const first = issues[0] as z.core.$ZodIssue
  throw new InvalidConfigError({
    source,
    problems: issues.map((i) => describe(i, input)),
    field: first.path.map(String).join('.'),
    fixes,
    knownFields: Object.keys(configSchema.shape),
  })
}
