// The shape of src/ that the README's Development section promises: no import cycle, the lab reached only by
// tests, the sandbox and conformance, the domain (src/cluster) free of checks and commands, I/O only in
// src/clients, and no type assertions through any or unknown.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** Relative imports of every module (static, type-only and dynamic), as repository paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8')
    const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)].map((m) =>
      relative(root, resolve(dirname(file), (m[1] ?? m[2])!).replace(/\.js$/, '.ts')),
    )
    graph.set(relative(root, file), deps)
  }
  return graph
}

function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const found: string[][] = []
  const visit = (n: string) => {
    state.set(n, 'open')
    stack.push(n)
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d])
      else if (!state.has(d)) visit(d)
    }
    stack.pop()
    state.set(n, 'done')
  }
  for (const n of graph.keys()) if (!state.has(n)) visit(n)
  return found
}

describe('architecture of src/', () => {
  const graph = importGraph()

  it('finds the modules it checks (the test can see the tree)', () => {
    expect(graph.size).toBeGreaterThan(50)
    expect(graph.get('src/cluster/agents.ts')).toContain('src/cluster/facts.ts')
  })

  it('has no import cycle', () => {
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([])
  })

  it('reaches the lab only from the sandbox command', () => {
    const offenders = [...graph]
      .filter(([file]) => !file.startsWith('src/lab/') && !file.startsWith('src/commands/sandbox/'))
      .flatMap(([file, deps]) => deps.filter((d) => d.startsWith('src/lab/')).map((d) => `${file} → ${d}`))
    expect(offenders).toEqual([])
  })

  it('keeps the cluster domain below the checks, services and commands', () => {
    const offenders = [...graph]
      .filter(([file]) => file.startsWith('src/cluster/'))
      .flatMap(([file, deps]) => deps.filter((d) => /^src\/(checks|services|commands|report)\//.test(d)).map((d) => `${file} → ${d}`))
    expect(offenders).toEqual([])
  })

  // Modules that open sockets, files or processes. Type-only imports do not count.
  const IO = /^(node:)?(fs|fs\/promises|net|tls|http|https|http2|dgram|child_process)$|^ws$|^@grpc\/grpc-js$|^@elastic\/elasticsearch$|^@kubernetes\/client-node$/
  it('opens sockets, files and processes only in src/clients (and the lab)', () => {
    const offenders = sources(src)
      .map((f) => relative(root, f))
      .filter((f) => !f.startsWith('src/clients/') && !f.startsWith('src/lab/'))
      .flatMap((f) => {
        const text = readFileSync(join(root, f), 'utf8')
        const specs = [...text.matchAll(/(?:^|\n)\s*import\s+(?!type\s)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => (m[1] ?? m[2])!)
        return specs.filter((s) => IO.test(s)).map((s) => `${f} imports ${s}`)
      })
    expect(offenders).toEqual([])
  })

  it('has no `as any` or `as unknown as` anywhere in src/, the lab included', () => {
    const offenders = sources(src)
      .map((f) => relative(root, f))
      .flatMap((f) =>
        readFileSync(join(root, f), 'utf8')
          .split('\n')
          .flatMap((line, i) => (/\bas (any|unknown as)\b/.test(line) ? [`${f}:${i + 1}`] : [])),
      )
    expect(offenders).toEqual([])
  })

  it('keeps the documentation links of findings in one map (src/docs.ts)', () => {
    // A finding's docs link is a key of DOCS: no second map of links, no URL written for a finding's docs.
    const rules = [
      /\bdocs\s*[:=]\s*['"`]/i, // docs: 'https://…', const docs = `…`
      /\bdocs:\s*(?!DOCS\.|Array<|docs\b)[A-Za-z_]\w*\./, // docs: another map's entry
      /\bconst\s+\w*(docs|links|urls)\w*\s*(:[^=]+)?=\s*\{/i, // another map of links
    ]
    const offenders = sources(src)
      .map((f) => relative(root, f))
      .filter((f) => /^src\/(checks|services)\//.test(f))
      .flatMap((f) =>
        readFileSync(join(root, f), 'utf8')
          .split('\n')
          .flatMap((line, i) => (rules.some((r) => r.test(line)) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
      )
    expect(offenders).toEqual([])
  })
})
