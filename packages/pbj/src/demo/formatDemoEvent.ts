import { formatTusd } from '../payment/formatTusd.js'
import type { DemoEvent } from './runDemo.js'

const short = (a: unknown) =>
  typeof a === 'string' && a.startsWith('0x') ? `${a.slice(0, 8)}…${a.slice(-4)}` : String(a)
const time = (t: bigint) => new Date(Number(t) * 1000).toISOString().replace('T', ' ').slice(0, 19)
const tusd = (micros: unknown, digits = 6) => formatTusd(BigInt(String(micros)), digits)
const days = (s: unknown) => `${Number(s) / 86_400} days`

/**
 * One demo event as readable timeline text (possibly several lines).
 *
 * @example
 * runDemo({ onEvent: (e) => process.stdout.write(formatDemoEvent(e)) })
 */
export function formatDemoEvent(e: DemoEvent): string {
  if (e.type === 'setup') {
    const d = e.detail
    const ms = d.ms === undefined ? '' : `  (${d.ms} ms)`
    switch (e.step) {
      case 'anvil':
        return `  ✔ chain     embedded Anvil at ${d.wsUrl} (chain ${d.chainId})${ms}\n`
      case 'broker':
        return `  ✔ broker    ${d.embedded ? 'embedded MQTT broker' : 'MQTT broker'} at ${d.brokerUrl}${ms}\n`
      case 'contracts':
        return `  ✔ contracts ${Object.entries(d.contracts as Record<string, string>)
          .map(([n, a]) => `${n} ${short(a)}`)
          .join(', ')}${ms}\n`
      case 'car':
        return `  ✔ car       ${short(d.deviceId)}, its wallet ${short(d.walletAddress)}, loan #${d.loanId}: ${Number(d.installment) / 1e6} tUSD every ${days(d.period)}, ${days(d.grace)} grace${ms}\n`
      case 'payment': {
        const p = d.prices as Record<string, string>
        return `  ✔ payment   project ${short(d.projectId)} prepaid ${tusd(d.deposit, 2)} tUSD on ExecutionBalance; ${p.perRunMicros} per run + ${p.perMsMicros} per ms + ${p.perDeviceMessageMicros} per device message (token units), gas +${Number(p.gasMarkupBps) / 100}%\n`
      }
      case 'engine':
        return `  ✔ pbj       following chain ${d.chainId} with ${(d.functions as string[]).join(', ')}\n\n`
      default:
        return `  ✔ ${e.step}\n`
    }
  }
  if (e.type === 'health') return `  ✔ health    ${e.url}/healthz, /readyz and /metrics\n`
  if (e.type === 'step') {
    const warned = e.step === 'warning' || e.step === 'final-warning' || e.step === 'before-deadline'
    const state = e.locked ? '🔒 locked' : warned ? '⚠️  warned' : '🔓 unlocked'
    let out = `  block ${String(e.block).padEnd(4)} ${time(e.chainTime)}  ${e.title.padEnd(70)} ${state}\n`
    if (e.latency) {
      const l = e.latency
      out += `             from the block: head ${l.head} ms → function ${l.functionStarted} ms → broker ${l.atBroker} ms → car acknowledged ${l.ack} ms\n`
    }
    if (e.message) out += `             the car says: "${e.message}"\n`
    if (e.tx) out += `             collected by transaction ${short(e.tx)}\n`
    return out
  }
  if (!e.ok) return `\n  ✘ the scenario did not complete: ${e.error}\n`
  let out = `\n  ✔ scenario complete: locked ${e.lockLatencyMs} ms and unlocked ${e.unlockLatencyMs} ms after the block, measured to the car's acknowledgement\n`
  if (e.installments?.length)
    out += `  ✔ installments: ${e.installments.map((i) => `#${i.installment} by ${i.collectedBy} (block ${i.block})`).join(', ')}\n`
  if (e.execution) {
    const x = e.execution
    out += `  ✔ execution: ${x.runs} runs cost ${tusd(x.costMicros)} tUSD, ${tusd(x.settledMicros)} tUSD settled on ExecutionBalance; ${tusd(x.balanceAfterMicros)} tUSD left\n`
  }
  return out
}
