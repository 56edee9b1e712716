/**
 * What a car shows when it is locked and the function gave no `message`. The same text as `LOCK_MESSAGE`
 * of @pbj/device (a test keeps them equal): a config file bundles this class and must not import `@pbj/*`
 * TypeScript sources.
 */
export const lockMessage =
  "You missed your car payment and the vehicle is locked. Please reload your car's wallet."

/**
 * The `reason` a command carries when the function gave none: a lock is for a missed payment, an unlock
 * because the loan was paid; a warning's reason is its stage (`warning` or `final-warning`).
 */
export const defaultReasons = { lock: 'missed-payment', unlock: 'paid' } as const
