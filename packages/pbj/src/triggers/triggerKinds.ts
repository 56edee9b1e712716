import type { TriggerKind } from './defineTriggerKind.js'
import { blocksKind } from './kinds/blocks.js'
import { conditionKind } from './kinds/condition.js'
import { deadlineKind } from './kinds/deadline.js'
import { eventKind } from './kinds/event.js'
import { scheduleKind } from './kinds/schedule.js'

/**
 * Every trigger kind, one line each. The trigger schema, `checkTriggerAbi`, `createTriggerIndex` and
 * `planBlock` iterate this table; adding a kind is its file in `kinds/` and a line here (and its type in
 * `function/triggers.ts`, which users write against). The order is the order `planBlock` runs the kinds'
 * per-block work in, after the logs and the due timers.
 */
export const triggerKinds: readonly TriggerKind[] = [
  eventKind,
  deadlineKind,
  scheduleKind,
  blocksKind,
  conditionKind,
]

/** The kind of that `type`, if any. @example triggerKindOf('blocks')?.example */
export const triggerKindOf = (type: unknown): TriggerKind | undefined =>
  triggerKinds.find((kind) => kind.type === type)
