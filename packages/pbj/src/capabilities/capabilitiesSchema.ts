import { z } from 'zod'
import { showValue } from '../internal/showValue.js'
import { deviceActions, type GrantedCapabilities } from './capabilities.js'

type Issue = { input?: unknown }

/** An error function for zod that says what the field must be and what it got. */
const must = (what: string) => (issue: Issue) => `must be ${what}; got ${showValue(issue.input)}`

const contractRef = (what: string) =>
  z
    .string({ error: must(what) })
    .refine((v) => /^0x[0-9a-fA-F]{40}$/.test(v) || /^[A-Za-z_$][\w$]*$/.test(v), {
      error: must(what),
    })

const functionName = z
  .string({ error: must("a contract function's name, e.g. 'payDue'") })
  .regex(/^[A-Za-z_$][\w$]*$/, { error: must("a contract function's name, e.g. 'payDue'") })

/** A write grant's function: a name ('payDue'), or a full signature ('payDue()', 'pay(uint256)'). */
const writeFunction = z
  .string({ error: must("a contract function's name or signature, e.g. 'payDue()'") })
  .regex(/^[A-Za-z_$][\w$]*(\((\s*[a-z0-9[\]]+\s*(,\s*[a-z0-9[\]]+\s*)*)?\))?$/, {
    error: must("a contract function's name or signature, e.g. 'payDue()' or 'pay(uint256)'"),
  })

const weiError = must('a non-negative bigint of wei, e.g. 0n or 10n ** 15n')
const wei = z.union(
  [
    z.bigint({ error: weiError }).nonnegative({ error: weiError }),
    z
      .number({ error: weiError })
      .int({ error: weiError })
      .nonnegative({ error: weiError })
      .max(Number.MAX_SAFE_INTEGER, { error: weiError }),
  ],
  { error: weiError },
)

const actionsError = must(
  `a non-empty list of ${deviceActions.map((a) => `'${a}'`).join(', ')}, e.g. ['lock']`,
)

/**
 * The `capabilities` of a function definition, checked when the function is loaded: strict objects at
 * every level, so a misspelt field (`device:`) is an error rather than a silently missing grant.
 * Normalizes to {@link GrantedCapabilities} (every field present, `maxValue` a bigint defaulting to 0n).
 *
 * @example
 * capabilitiesSchema.parse({ devices: { actions: ['lock'] } }).write // []
 */
export const capabilitiesSchema = z
  .strictObject(
    {
      devices: z
        .strictObject(
          {
            actions: z
              .array(z.enum(deviceActions, { error: actionsError }), { error: actionsError })
              .min(1, { error: actionsError })
              .refine((a) => new Set(a).size === a.length, { error: 'must not name an action twice' }),
            where: z
              .strictObject(
                {
                  contract: contractRef('a contract name from the config or a 0x address'),
                  functionName: functionName,
                },
                {
                  error: must(
                    "{ contract, functionName } naming a view (address device) returns (bool), e.g. { contract: 'CarLoan', functionName: 'hasActiveLoan' }",
                  ),
                },
              )
              .optional(),
          },
          { error: must("an object such as { actions: ['lock'] }") },
        )
        .optional(),
      write: z
        .array(
          z
            .strictObject(
              {
                contract: z.union(
                  [z.literal('*'), contractRef("a contract name from the config, a 0x address, or '*'")],
                  {
                    error: must("a contract name from the config, a 0x address, or '*'"),
                  },
                ),
                functionName: writeFunction,
                maxValue: wei.optional(),
              },
              { error: must("an object such as { contract: 'CarLoan', functionName: 'payDue' }") },
            )
            // On any contract a bare name is a different function wherever its parameters differ: the
            // grant must say exactly which function (its selector) it means.
            .refine((w) => w.contract !== '*' || w.functionName.includes('('), {
              error: must(
                "a full signature with contract '*', e.g. { contract: '*', functionName: 'payDue()' }",
              ),
            }),
          { error: must("a list such as [{ contract: 'CarLoan', functionName: 'payDue' }]") },
        )
        .optional(),
      secrets: z
        .array(
          z.string({ error: must("a secret's name, e.g. 'API_KEY'") }).regex(/^[A-Za-z_][\w.-]*$/, {
            error: must("a secret's name, e.g. 'API_KEY'"),
          }),
          { error: must("a list of secret names, e.g. ['API_KEY']") },
        )
        .optional(),
    },
    { error: must("an object such as { devices: { actions: ['lock'] }, secrets: ['API_KEY'] }") },
  )
  .transform(
    (c): GrantedCapabilities => ({
      devices: { actions: c.devices?.actions ?? [], where: c.devices?.where ?? null },
      write: (c.write ?? []).map((w) => ({
        contract: w.contract,
        functionName: w.functionName,
        maxValue: BigInt(w.maxValue ?? 0n),
      })),
      secrets: [...new Set(c.secrets ?? [])],
    }),
  )
