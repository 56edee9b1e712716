import type { Address } from 'viem'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { immobilizerClass } from '../deviceClasses/immobilizer/immobilizerClass.js'
import type { PbjConfig } from './schema.js'

/**
 * The device class a config's engine checks and builds commands with: its `deviceClass`; else, for a
 * project with a `CarLoan` contract (the demo's, `pbj dev`'s), the immobilizer over it; else null, and
 * every device command is refused with the fix (set `deviceClass`). The default lives here, with the
 * config, not in the engine: the engine knows only the class it is given.
 *
 * @example
 * resolveDeviceClass({}, { CarLoan: '0x5FbD…' }) // the immobilizer class over CarLoan
 */
export function resolveDeviceClass(
  config: Pick<PbjConfig, 'deviceClass'>,
  contracts: Readonly<Record<string, Address>>,
): DeviceClass | null {
  return config.deviceClass ?? (contracts.CarLoan ? immobilizerClass({ contract: 'CarLoan' }) : null)
}
