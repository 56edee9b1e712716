import { describe, expect, it } from 'vitest'
import { sleep } from './sleep.js'
import { withTimeout } from './withTimeout.js'

describe('withTimeout', () => {
  it('passes on a result that comes in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 100, () => new Error('late'))).resolves.toBe(7)
  })

  it('rejects with the timeout error when the work is late', async () => {
    const late = sleep(1_000).then(() => 'done')
    await expect(withTimeout(late, 20, () => new Error('late'))).rejects.toThrow('late')
  })

  it("maps the work's own rejection with onError", async () => {
    const failed = Promise.reject(new Error('refused'))
    await expect(withTimeout(failed, 100, () => new Error('late'))).rejects.toThrow('refused')
    await expect(
      withTimeout(
        Promise.reject(new Error('refused')),
        100,
        () => new Error('late'),
        (cause) => new Error(`wrapped: ${(cause as Error).message}`),
      ),
    ).rejects.toThrow('wrapped: refused')
  })
})
