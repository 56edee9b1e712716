import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { docsLinkOf, docsPageOf } from './docsPageOf.js'
import { CapabilityError, ConfigError, PbjError } from './errors.js'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const srcDir = fileURLToPath(new URL('../', import.meta.url))

/** GitHub's anchor for a heading: lowercase, punctuation dropped, each space a hyphen. */
const slugOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')

/** The anchors of a markdown file's headings, ignoring `#` lines inside code blocks. */
function anchorsOf(file: string): Set<string> {
  const withoutCode = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '')
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => `#${slugOf(m[1] ?? '')}`))
}

/** Where a docs link points: `page#anchor` (repository-relative) → whether the page has that heading. */
function resolves(link: string): boolean {
  const [page = '', anchor] = link.split('#')
  const file = join(repoRoot, page)
  if (!existsSync(file)) return false
  return anchor === undefined || anchorsOf(file).has(`#${anchor}`)
}

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(path)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : []
  })

/** Every docs path the sources hand an error: string literals on a line that mentions `docsPath`. */
function docsPathsInSources(): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of sourceFiles(srcDir)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.includes('docsPath')) continue
      for (const m of line.matchAll(/['"`]((?:docs\/[\w./-]+\.md)?#[\w-]+)['"`]/g)) {
        if (m[1]) found.set(m[1], relative(repoRoot, file))
      }
    }
  }
  return found
}

describe('docs links in errors', () => {
  it('finds the docsPath anchors the sources use (so the scan below is not silently empty)', () => {
    const used = docsPathsInSources()
    expect([...used.keys()]).toEqual(
      expect.arrayContaining(['#capabilities', '#config-reference', '#trust-model-who-may-do-what']),
    )
  })

  it('sends every docsPath used in packages/pbj/src to a heading of the page that now holds it', () => {
    const broken = [...docsPathsInSources()]
      .filter(([docsPath]) => !resolves(docsLinkOf(docsPath)))
      .map(([docsPath, file]) => `${docsPath} (${file}) → ${docsLinkOf(docsPath)}`)
    expect(broken).toEqual([])
  })

  it('names, for every anchor in docsPageOf, a page that has that heading', () => {
    const broken = Object.keys(docsPageOf).filter((anchor) => !resolves(docsLinkOf(anchor)))
    expect(broken).toEqual([])
  })

  it('renders the page in the error message, not README.md', () => {
    expect(new CapabilityError('may not lock').message).toContain('Docs: docs/functions.md#capabilities')
    const config = new ConfigError('rpcUrl is wrong', { docsPath: '#config-reference' })
    expect(config.message.split('\n').at(-1)).toBe('Docs: docs/operations.md#config-reference')
    expect(config.docsPath).toBe('#config-reference')
  })

  it('keeps a docsPath that already names its page, and sends unknown anchors to the README', () => {
    expect(docsLinkOf('docs/payment.md#prepaid-execution')).toBe('docs/payment.md#prepaid-execution')
    expect(docsLinkOf('#not-a-section')).toBe('README.md#not-a-section')
    expect(new PbjError('x').message).not.toContain('Docs:')
  })
})

describe('links between the docs pages', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(repoRoot, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ]

  it('has the pages the README maps', () => {
    for (const page of [
      'functions',
      'triggers',
      'devices',
      'transactions',
      'payment',
      'operations',
      'architecture',
    ]) {
      expect(pages).toContain(`docs/${page}.md`)
    }
  })

  it('points every relative link at a file (and heading) that exists', () => {
    const broken: string[] = []
    for (const page of pages) {
      const text = readFileSync(join(repoRoot, page), 'utf8')
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] ?? ''
        if (/^[a-z]+:/.test(target)) continue
        const [path = '', anchor] = target.split('#')
        const file = path === '' ? page : relative(repoRoot, join(repoRoot, dirname(page), path))
        if (!resolves(anchor === undefined ? file : `${file}#${anchor}`)) broken.push(`${page}: ${target}`)
      }
    }
    expect(broken).toEqual([])
  })
})
