import type { ImmobilizerReport } from '@pbj/device'
import type { DeviceDesired } from './device.js'
import type { Run } from './run.js'

/** What the engine tells its listeners (the CLI, the demo, tests). */
export type EngineEvents = {
  block: {
    number: bigint
    hash: string
    timestamp: bigint
    jobs: number
    receivedAt: number
    committedAt: number
  }
  run: {
    run: Run
    jobId: string
    blockNumber: bigint
    /** When the sandbox started the handler. */
    startedAt: number
  }
  'device:desired': {
    deviceId: string
    version: number
    commandId: string
    state: DeviceDesired
    publishedAt: number
    /** The block whose run set this state; 0n if it was set outside a run. */
    blockNumber: bigint
  }
  'device:reported': {
    deviceId: string
    version: number
    /** `immobilizer`: what the car's starter interrupt does (stage, immobilized, pending disable…). */
    state: { locked: boolean; message?: string | undefined; immobilizer?: ImmobilizerReport | undefined }
    receivedAt: number
  }
  /**
   * A device behind its desired version was sent it again (see createDeviceDispatcher): after a report
   * that is behind (`report`, a refusal included), or found by the periodic reconciliation (`reconcile`).
   * `attempt` counts the corrections since the device last caught up.
   */
  'device:corrected': {
    deviceId: string
    desiredVersion: number
    reportedVersion: number
    reason: 'report' | 'reconcile'
    attempt: number
  }
  reorg: { ancestor: bigint; orphaned: number; compensations: number }
  error: unknown
}
