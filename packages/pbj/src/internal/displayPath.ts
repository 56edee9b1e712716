import { isAbsolute, relative, resolve } from 'node:path'

/**
 * A file path as users should read it in messages: relative to the working directory when the file is
 * under it, absolute otherwise (a `../../tmp/…` path helps nobody).
 *
 * @example
 * displayPath('/home/me/app/functions/lock.ts') // 'functions/lock.ts' when cwd is /home/me/app
 */
export function displayPath(file: string): string {
  const absolute = resolve(file)
  const rel = relative(process.cwd(), absolute)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? absolute : rel
}
