import { killDevEngine, killDevWrapper, killNpmDev } from './killDev.js'
import { killStartEngine, killStartWrapper } from './killStart.js'
import type { Scenario } from './lib/scenario.js'

/** Every chaos scenario, in the order `npm run chaos` runs them. */
export const scenarios: readonly Scenario[] = [
  killStartWrapper,
  killStartEngine,
  killDevWrapper,
  killDevEngine,
  killNpmDev,
]
