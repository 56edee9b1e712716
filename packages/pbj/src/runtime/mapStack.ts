import { dirname, resolve } from 'node:path'
import { displayPath } from '../internal/displayPath.js'
import { bootstrapFilename } from './bootstrap.js'
import { bundleFilename } from './evaluateBundle.js'

const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** One mapping: generated column, then source index, line and column (all 0-based). */
type Segment = [number, number, number, number]

function decodeVlq(text: string): number[] {
  const values: number[] = []
  let value = 0
  let shift = 0
  for (const char of text) {
    const digit = base64.indexOf(char)
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  return values
}

function decodeMappings(mappings: string): Segment[][] {
  let source = 0
  let line = 0
  let column = 0
  return mappings.split(';').map((text) => {
    let generated = 0
    const segments: Segment[] = []
    for (const part of text.split(',')) {
      const [dc = 0, ds, dl, dcol] = decodeVlq(part)
      generated += dc
      if (ds === undefined || dl === undefined || dcol === undefined) continue
      source += ds
      line += dl
      column += dcol
      segments.push([generated, source, line, column])
    }
    return segments
  })
}

/**
 * Makes a function that rewrites a sandbox stack trace to point at the user's source: frames of the
 * bundle are mapped through its inline source map, frames of pbj's bootstrap are dropped.
 *
 * @example
 * const map = createStackMapper(bundle.code, bundle.file)
 * map('Error: x\n    at handler (pbj-function:/app/functions/a.ts:31:13)') // '… (functions/a.ts:5:11)'
 */
export function createStackMapper(code: string, file: string): (stack: string) => string {
  let decoded: { sources: string[]; lines: Segment[][] } | undefined
  const load = () => {
    if (decoded) return decoded
    const match = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code)
    const map = match?.[1] ? JSON.parse(Buffer.from(match[1], 'base64').toString('utf8')) : {}
    const sources = Array.isArray(map.sources)
      ? map.sources.map((s: string) => resolve(dirname(file), s))
      : []
    decoded = { sources, lines: typeof map.mappings === 'string' ? decodeMappings(map.mappings) : [] }
    return decoded
  }
  const prefix = `${bundleFilename(file)}:`
  return (stack) =>
    stack
      .split('\n')
      .filter((line) => !line.includes(bootstrapFilename) && !line.includes('<isolated-vm boundary>'))
      .map((line) => {
        const at = line.indexOf(prefix)
        if (at < 0) return line
        const match = /^(\d+):(\d+)/.exec(line.slice(at + prefix.length))
        if (!match) return line
        const { sources, lines } = load()
        const column = Number(match[2]) - 1
        const segment = lines[Number(match[1]) - 1]?.findLast((s) => s[0] <= column)
        const source = segment && sources[segment[1]]
        if (!segment || !source) return line
        const mapped = `${displayPath(source)}:${segment[2] + 1}:${segment[3] + 1}`
        return line.slice(0, at) + mapped + line.slice(at + prefix.length + match[0].length)
      })
      .join('\n')
}
