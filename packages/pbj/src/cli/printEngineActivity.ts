import type { Engine } from '../engine/createEngine.js'
import { toJsonLine } from '../internal/toJsonLine.js'

/**
 * Prints what an engine does: each run with its status and logs, and device commands and acknowledgements.
 * Returns a function that stops printing.
 *
 * @example
 * const stop = printEngineActivity(engine, false)
 */
export function printEngineActivity(engine: Engine, json: boolean): () => void {
  const out = (text: string, obj: unknown) => process.stdout.write(json ? toJsonLine(obj) : `${text}\n`)
  const offs = [
    engine.events.on('run', ({ run, blockNumber }) => {
      const mark = run.status === 'ok' ? '✔' : '✘'
      out(
        `${mark} block ${blockNumber} ${run.functionName} ${run.status} in ${run.durationMs} ms${run.error ? `: ${run.error.message}` : ''}`,
        { type: 'run', ...run, blockNumber },
      )
      if (!json) for (const l of run.logs) process.stdout.write(`    ${l.level}: ${l.message}\n`)
    }),
    engine.events.on('device:desired', (d) =>
      out(`→ ${d.deviceId} desired v${d.version} ${d.state.locked ? 'locked' : 'unlocked'}`, {
        type: 'device:desired',
        ...d,
      }),
    ),
    engine.events.on('device:reported', (r) =>
      out(`← ${r.deviceId} reported v${r.version} ${r.state.locked ? 'locked' : 'unlocked'}`, {
        type: 'device:reported',
        ...r,
      }),
    ),
  ]
  return () => {
    for (const off of offs) off()
  }
}
