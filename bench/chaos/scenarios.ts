import { deepReorg } from './deepReorg.js'
import { diskFull } from './diskFull.js'
import { drift } from './drift.js'
import { killDevEngine, killDevWrapper, killNpmDev } from './killDev.js'
import { killStartEngine, killStartWrapper } from './killStart.js'
import type { Scenario } from './lib/scenario.js'
import { brokerDown, contractWithoutCode, secondEngine } from './refusals.js'
import { rpcDownAtStart } from './rpcDown.js'
import { sigtermDuringRun } from './sigterm.js'
import { damagedDatabase, missingWal } from './storeRefusals.js'

/** Every chaos scenario, in the order `npm run chaos` runs them. */
export const scenarios: readonly Scenario[] = [
  killStartWrapper,
  killStartEngine,
  killDevWrapper,
  killDevEngine,
  killNpmDev,
  secondEngine,
  contractWithoutCode,
  brokerDown,
  damagedDatabase,
  missingWal,
  rpcDownAtStart,
  sigtermDuringRun,
  deepReorg,
  diskFull,
  drift,
]
