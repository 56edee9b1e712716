import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PbjError } from '../internal/errors.js'
import { getFreePort } from '../internal/freePort.js'
import { resolveAnvilBinary } from './anvilBinary.js'
import { type AnvilNode, startAnvil } from './startAnvil.js'

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  return ((await response.json()) as { result?: unknown }).result
}

/** Alive and not a zombie: an orphan killed on exit waits for PID 1 to reap it, which can take seconds. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return process.platform !== 'linux'
  }
}

describe('startAnvil', () => {
  let anvil: AnvilNode

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31_337 })
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  it('resolves the platform binary, not the node wrapper', () => {
    expect(resolveAnvilBinary()).toMatch(
      /@foundry-rs[\\/]anvil-[a-z0-9]+-[a-z0-9]+[\\/]bin[\\/]anvil(\.exe)?$/,
    )
  })

  it('answers JSON-RPC on 127.0.0.1 with the requested chain id, automining', async () => {
    expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`)
    expect(anvil.wsUrl).toBe(`ws://127.0.0.1:${anvil.port}`)
    expect(await rpc(anvil.rpcUrl, 'eth_chainId')).toBe('0x7a69')
    expect(await rpc(anvil.rpcUrl, 'anvil_getAutomine')).toBe(true)
  })

  it('stop() kills the process and resolves after it exited', async () => {
    const other = await startAnvil({ chainId: 1_337 })
    expect(other.port).not.toBe(anvil.port)
    expect(await rpc(other.rpcUrl, 'eth_chainId')).toBe('0x539')
    expect(isRunning(other.pid)).toBe(true)
    await Promise.all([other.stop(), other.stop()])
    expect(isRunning(other.pid)).toBe(false)
    await expect(rpc(other.rpcUrl, 'eth_chainId')).rejects.toThrow()
    await other.stop()
  })

  it('does not keep Node alive, and dies with it when stop() is never called', async () => {
    const script = `const { startAnvil } = await import(${JSON.stringify(new URL('./startAnvil.ts', import.meta.url).href)})
const anvil = await startAnvil()
console.log(anvil.pid)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
    const pid = Number(stdout.trim())
    expect(pid).toBeGreaterThan(0)
    // SIGKILL from the exit hook is asynchronous; give the kernel a moment to reap it.
    await expect.poll(() => isRunning(pid), { timeout: 2_000, interval: 20 }).toBe(false)
  })

  it('dies when the process that started it is SIGKILLed (setpriv --pdeathsig), with its pid its own', async () => {
    const script = `const { startAnvil } = await import(${JSON.stringify(new URL('./startAnvil.ts', import.meta.url).href)})
const anvil = await startAnvil()
console.log(anvil.pid)
setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const pid = await new Promise<number>((resolve) =>
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))),
    )
    try {
      // setpriv exec'd Anvil: the pid is the binary's, as before.
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe(resolveAnvilBinary())
      expect(isRunning(pid)).toBe(true)
      child.kill('SIGKILL')
      await expect.poll(() => isRunning(pid), { timeout: 2_000, interval: 20 }).toBe(false)
    } finally {
      child.kill('SIGKILL')
      if (isRunning(pid)) process.kill(pid, 'SIGKILL')
    }
  })

  it('fails clearly when the given port is taken', async () => {
    const port = await getFreePort()
    // Our readiness poll connects to the blocker too; close() would wait on those sockets forever.
    const sockets = new Set<Socket>()
    const blocker = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const error = await startAnvil({ port }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PbjError)
      expect((error as PbjError).shortMessage).toContain(`127.0.0.1:${port}`)
      expect((error as PbjError).details).toMatch(/address already in use/i)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
