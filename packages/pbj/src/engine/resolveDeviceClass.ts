import type { Address } from 'viem'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { immobilizerClass } from '../deviceClasses/immobilizerClass.js'

/**
 * The device class the engine checks commands with: the one given; else, for the embedded defaults, the
 * immobilizer over `contracts.CarLoan` when that contract is configured (the demo's); else null, and every
 * device command is refused (fail closed). Checks the class against the contracts before anything connects.
 *
 * @example
 * resolveDeviceClass(undefined, { CarLoan: '0x5FbD…' }) // the immobilizer class over CarLoan
 */
export function resolveDeviceClass(
  given: DeviceClass | null | undefined,
  contracts: Readonly<Record<string, Address>>,
): DeviceClass | null {
  const deviceClass =
    given !== undefined ? given : contracts.CarLoan ? immobilizerClass({ contract: 'CarLoan' }) : null
  deviceClass?.check?.(contracts)
  return deviceClass
}
