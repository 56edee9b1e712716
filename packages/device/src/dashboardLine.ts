import type { DeviceState } from './createDeviceAgent.js'

/**
 * The line a simulated car's dashboard shows for a state: locked (with the driver's message), an
 * emergency restart running, a disable waiting for the ignition-off, a warning or final warning, or
 * unlocked.
 *
 * @example
 * dashboardLine('car 0x7099…79c8', agent.state())
 * // "⚠️ car 0x7099…79c8: Final warning: your car payment is still overdue and from 2026-12-06 10:00 UTC the vehicle can be disabled. …"
 */
export function dashboardLine(name: string, state: DeviceState): string {
  const immobilizer = state.immobilizer
  if (state.locked) {
    if (immobilizer && !immobilizer.immobilized && immobilizer.emergencyUntil !== null) {
      const until = new Date(immobilizer.emergencyUntil).toISOString().slice(0, 16).replace('T', ' ')
      return `🚨 ${name}: emergency restart until ${until} UTC (${immobilizer.emergencyStartsLeft ?? 0} left)`
    }
    return `🔒 ${name}: ${state.message ?? 'locked'}`
  }
  if (immobilizer?.pendingDisable) {
    return `⏳ ${name}: disabled at the next ignition-off (never while driving): ${state.message ?? 'locked'}`
  }
  if (immobilizer?.warning) return `⚠️ ${name}: ${immobilizer.warning.message}`
  return `🔓 ${name}: unlocked`
}
