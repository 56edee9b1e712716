import type { ImmobilizerReport } from '@pbj/device'
import type { DeviceDesired } from './device.js'
import type { ReconcileReason } from './deviceCorrection.js'
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
   * `attempt` counts the corrections since the device last caught up. With `reason: 'chain'`, the
   * chain-level reconciliation (createChainReconciler) found the stored desired state differing from what
   * the chain says and set a new one, through the guard: `from` and `to` are their meanings, `blockNumber`
   * the head it read, `desiredVersion` the new version (`attempt` is 1).
   */
  'device:corrected':
    | {
        deviceId: string
        desiredVersion: number
        reportedVersion: number
        reason: 'report' | 'reconcile'
        attempt: number
      }
    | {
        deviceId: string
        desiredVersion: number
        reportedVersion: number
        reason: 'chain'
        attempt: number
        from: string
        to: string
        blockNumber: bigint
        /** Why the pass ran. */
        trigger: ReconcileReason
      }
  /**
   * A chain-level reconciliation pass finished: `devices` looked at, `corrected` sent through the guard,
   * `refused` by it (the refusal stands), `failed` (left to the next pass), all at head block `atBlock`.
   */
  reconciled: {
    reason: ReconcileReason
    devices: number
    corrected: number
    refused: number
    failed: number
    atBlock: bigint
  }
  reorg: { ancestor: bigint; orphaned: number; compensations: number }
  /**
   * A reorg deeper than the window: no common block within `maxReorgDepth`. pbj rolled back what it keeps
   * (blocks `from`…`to` of the old chain), resumed from the new chain's block `resumedAt` and reconciles
   * every device (see followHeads).
   */
  'reorg:deep': { from: bigint; to: bigint; resumedAt: bigint }
  error: unknown
}
