// Entry of the sandbox child process (see createProcessSandbox): isolates run here, so a native crash or an
// out-of-memory abort takes down this process and not the engine. Started with --no-node-snapshot (for
// isolated-vm 5 on Node 20) and the tsx loader; argv[2] holds the default limits as JSON.
import { watchParent } from '@pbj/internal/watchParent.js'
import { InternalError } from '../internal/errors.js'
import { childSettingsSchema } from './sandboxMessages.js'
import { serveSandbox } from './serveSandbox.js'

if (!process.send)
  throw new InternalError(
    'sandboxProcess.ts runs as a child of createProcessSandbox (it needs an IPC channel)',
  )
const send = process.send.bind(process)
const limits = childSettingsSchema.parse(JSON.parse(process.argv[2] ?? '{}'))

process.on(
  'message',
  serveSandbox(limits, (message) => void send(message)),
)
// The parent is gone (it exited or was killed): nothing can use this process any more. The IPC channel
// closing says so at once; the watch covers a channel whose end was passed on or is still held by someone
// else, and an event loop that only hears of the disconnect late.
process.on('disconnect', () => process.exit(0))
watchParent(() => process.exit(0))
send({ type: 'ready' })
