/**
 * Settles as `work` does, or rejects with `onTimeout()` once `ms` have passed first. `onError` turns the
 * work's own rejection into the caller's error (by default it is passed on as is). The work itself is not
 * cancelled: a late result is dropped.
 *
 * @example
 * await withTimeout(client.publishAsync(topic, payload), 5_000, () => new BrokerError('no PUBACK'))
 */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  onError: (cause: unknown) => unknown = (cause) => cause,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (cause: unknown) => {
        clearTimeout(timer)
        reject(onError(cause))
      },
    )
  })
}
