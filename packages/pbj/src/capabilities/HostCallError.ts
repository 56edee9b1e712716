import { PbjError, type RetryClass } from '../internal/errors.js'

/** A host call from the sandbox with bad arguments: the user's bug, named precisely. */
export class HostCallError extends PbjError {
  override name = 'HostCallError'
  override readonly retry: RetryClass = 'user'
}
