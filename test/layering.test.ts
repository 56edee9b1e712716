import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, test } from 'vitest'

/**
 * The folders of packages/pbj/src, lowest first. A file may import its own folder and the folders above it
 * in this table (lower layers), never one below it: so a change to a stage never reaches into the stages
 * it feeds, and `engine/` is the one place that wires them together.
 */
const layers = [
  ['internal', 'generic helpers: errors, logger, emitter, clock, JSON, paths, value rendering'],
  ['core', 'neutral types every stage shares and none owns: jobs, runs, blocks, devices, the Store contract'],
  ['chain', 'RPC connection, head following, log fetching, reorg ancestry, contract name resolution'],
  ['capabilities', 'what a function may do (its grants) and the check of each ctx call against them'],
  ['function', 'the authoring API: defineFunction, triggers, the ctx types'],
  ['triggers', 'which jobs and timers a block causes (the trigger index, planBlock)'],
  ['store', 'the SQLite implementation of core/store'],
  ['queue', 'hands durable jobs to workers'],
  ['runtime', 'bundles functions and runs them in sandboxes'],
  ['actions', 'effects of a run: device commands over MQTT, relayed transactions'],
  // After actions, not before: the meter settles usage through the relayer, and no action needs payment.
  ['payment', 'prepaid execution: the meter, prices, settlements (sent by the relayer)'],
  ['deviceClasses', 'the device classes pbj ships (the immobilizer)'],
  ['engine', 'wires the stages: createEngine, runJob, processBlock, the host API'],
  ['ops', "the health server (/healthz, /readyz, /metrics) and the engine's instrumentation"],
  ['config', 'pbj.config.ts: schema, loading, validation, and what it resolves to (payment)'],
  ['demo', 'the car-loan demo stack'],
  ['cli', 'the pbj command'],
  ['index.ts', "the package's public API"],
] as const

/** The workspace packages, lowest first: a package may import only the packages before it. */
const packages = [
  [
    'internal',
    '@pbj/internal',
    'helpers device and pbj share: messageOf, backoff, locks, timeouts, the MQTT connection',
  ],
  ['contracts', '@pbj/contracts', 'the contracts: sources, ABIs, deployable artifacts'],
  ['device', '@pbj/device', 'the device side: car agent, simulated car, command and report signing'],
  ['pbj', 'pbj', 'the runtime, its folders layered as in the table above'],
] as const

type Edge = { from: string; specifier: string; to: string }
type Violation = { file: string; specifier: string; rule: string }

/** Layer of a file under packages/pbj/src: its first folder, or the file's name at the top level. */
const layerOf = (file: string) => file.split('/')[0] ?? file

/**
 * Imports that point the wrong way (a layer importing one below it in `order`) and import cycles between
 * files. Pure, so the synthetic graph below shows what it reports.
 */
function checkLayering(edges: readonly Edge[], order: readonly string[]) {
  const rank = new Map(order.map((name, i) => [name, i]))
  const wrongWay: Violation[] = []
  for (const e of edges) {
    const from = layerOf(e.from)
    const to = layerOf(e.to)
    const a = rank.get(from)
    const b = rank.get(to)
    if (a === undefined || b === undefined) {
      wrongWay.push({
        file: e.from,
        specifier: e.specifier,
        rule: `'${a === undefined ? from : to}' is not in the layer table`,
      })
    } else if (b > a) {
      wrongWay.push({
        file: e.from,
        specifier: e.specifier,
        rule: `${from} may not import ${to}: ${to} is a higher layer`,
      })
    }
  }
  return { wrongWay, cycles: findCycles(edges) }
}

/** Every strongly connected set of files (Tarjan), each as one cycle through it: a → b → … → a. */
function findCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>()
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to])
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  let counter = 0
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string
    do {
      w = stack.pop() as string
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || (next.get(v) ?? []).includes(v))
      cycles.push(cycleThrough(v, new Set(component), next))
  }
  for (const v of next.keys()) if (!index.has(v)) visit(v)
  return cycles
}

/** A shortest path from `start` back to itself inside its component (breadth first). */
function cycleThrough(start: string, component: Set<string>, next: Map<string, string[]>): string[] {
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift() as string
    for (const w of next.get(v) ?? []) {
      if (!component.has(w)) continue
      if (w === start) {
        const path = [v]
        while (path[0] !== start) path.unshift(previous.get(path[0] as string) as string)
        return [...path, start]
      }
      if (!previous.has(w)) {
        previous.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start, start]
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Non-test .ts files under a folder, relative to it. */
function sourceFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.split('\\').join('/'))
}

/** Every module specifier of a file: imports, `export … from`, and dynamic `import()` of a literal. */
const specifiersOf = (path: string) =>
  ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.map((f) => f.fileName)

/** Which workspace package a specifier of a file in `dir` names (by package name or by path), if any. */
function packageOf(dir: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) {
    const top = relative(join(root, 'packages'), resolve(dir, specifier)).split(/[\\/]/)[0]
    return packages.find(([p]) => p === top)?.[0] ?? 'files outside packages/'
  }
  return packages.find(([, name]) => specifier === name || specifier.startsWith(`${name}/`))?.[0]
}

/**
 * The import graph of one package's src, file to file (relative specifiers; in pbj, `pbj/…` self-imports
 * too), and the imports that name a package above it.
 */
function packageGraph(name: (typeof packages)[number][0]) {
  const src = join(root, 'packages', name, 'src')
  const rank = packages.findIndex(([p]) => p === name)
  const edges: Edge[] = []
  const upward: string[] = []
  for (const file of sourceFiles(src)) {
    const dir = dirname(join(src, file))
    for (const specifier of specifiersOf(join(src, file))) {
      const target = packageOf(dir, specifier)
      if (target === undefined) continue // a dependency (viem, zod…)
      if (target !== name) {
        const above = packages.findIndex(([p]) => p === target)
        if (above === -1 || above > rank)
          upward.push(`${name}/src/${file}: '${specifier}': ${name} may not import ${target}`)
        continue
      }
      const to = specifier.startsWith('.') ? relative(src, resolve(dir, specifier)) : 'index.ts'
      edges.push({ from: file, specifier, to: to.replace(/\.js$/, '.ts') })
    }
  }
  return { edges, upward }
}

describe('layering', () => {
  test('every import in packages/pbj/src points down the layer table, and no files import each other in a circle', () => {
    const { wrongWay, cycles } = checkLayering(
      packageGraph('pbj').edges,
      layers.map(([name]) => name),
    )
    expect(wrongWay.map((v) => `${v.file}: '${v.specifier}': ${v.rule}`)).toEqual([])
    expect(cycles.map((c) => c.join(' → '))).toEqual([])
  })

  test.each(packages.map(([name]) => name))('packages/%s/src imports only the packages below it', (name) => {
    expect(packageGraph(name).upward).toEqual([])
  })

  test.each(packages.filter(([name]) => name !== 'pbj').map(([name]) => name))(
    'no files of packages/%s/src import each other in a circle',
    (name) => {
      expect(findCycles(packageGraph(name).edges).map((c) => c.join(' → '))).toEqual([])
    },
  )

  test('reports a wrong-way import with its file, specifier and rule, and names a cycle', () => {
    const edges: Edge[] = [
      { from: 'store/a.ts', specifier: '../core/job.js', to: 'core/job.ts' },
      { from: 'core/job.ts', specifier: '../engine/types.js', to: 'engine/types.ts' },
      { from: 'engine/types.ts', specifier: '../store/a.js', to: 'store/a.ts' },
      { from: 'engine/x.ts', specifier: './y.js', to: 'engine/y.ts' },
    ]
    const { wrongWay, cycles } = checkLayering(edges, ['core', 'store', 'engine'])
    expect(wrongWay).toEqual([
      {
        file: 'core/job.ts',
        specifier: '../engine/types.js',
        rule: 'core may not import engine: engine is a higher layer',
      },
    ])
    expect(cycles).toEqual([['store/a.ts', 'core/job.ts', 'engine/types.ts', 'store/a.ts']])
    expect(
      checkLayering([{ from: 'x/a.ts', specifier: '../y/b.js', to: 'y/b.ts' }], ['y']).wrongWay[0]?.rule,
    ).toBe("'x' is not in the layer table")
  })
})
