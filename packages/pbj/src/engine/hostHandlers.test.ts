import { describe, expect, it } from 'vitest'
import type { DeviceClass } from '../actions/devices/deviceClass.js'
import { HostCallError, retryClassOf } from '../internal/errors.js'
import { createHostHandlers } from './hostHandlers.js'
import type { HostServices } from './types.js'

const car = `0x${'ab'.repeat(20)}`
const job = { id: 'job-1', functionName: 'lock', blockNumber: 1n } as Parameters<typeof createHostHandlers>[1]

/** Only the device class is reached: the class refuses the options before anything is read or stored. */
const withClass = (deviceClass: DeviceClass) =>
  createHostHandlers({ deviceClass } as unknown as HostServices, job)

describe('device calls through the device class', () => {
  it('fail as a HostCallError (not retried) when the class refuses the options, even with its own error classes', async () => {
    // A class bundled with a config file throws its own copy of HostCallError: not the engine's.
    const foreign = Object.assign(
      new Error('ctx.devices.lock: lockAt is bad\n\nFix: Pass the loan’s lockAt.'),
      {
        shortMessage: 'ctx.devices.lock: lockAt is bad',
        hint: 'Pass the loan’s lockAt.',
      },
    )
    const handlers = withClass({
      name: 'bundled',
      guard: async () => ({ ok: true }),
      toDesired: () => {
        throw foreign
      },
    })
    const error = await handlers['devices.lock']([car, {}]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HostCallError)
    expect(retryClassOf(error)).toBe('user')
    expect(error).toMatchObject({
      shortMessage: 'ctx.devices.lock: lockAt is bad',
      hint: 'Pass the loan’s lockAt.',
    })
  })

  it('hands the class the action, the ctx method and the options', async () => {
    const seen: unknown[] = []
    const handlers = withClass({
      name: 'recording',
      guard: async () => ({ ok: true }),
      toDesired: (request) => {
        seen.push(request)
        throw new HostCallError('stop here')
      },
    })
    await handlers['devices.warn']([car, { final: true }]).catch(() => {})
    expect(seen).toEqual([{ action: 'warn', method: 'devices.warn', options: { final: true } }])
  })
})
