// Sums the conformance run up per client: each test file's top-level describe names the client
// (e.g. "python-kubernetes", "kubectl", "python-elasticsearch", "grpcio", "es-yaml-rest"), each test one operation.
// A failed operation is a divergence between the lab and a client the project did not write.
import type {Reporter, TestModule} from 'vitest/node'

interface Row {
  client: string
  operations: number
  divergences: number
  failed: string[]
}

export default class ConformanceTableReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows = new Map<string, Row>()
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const path = test.fullName.split(' > ')
        const client = path.length > 1 ? path[0]! : mod.moduleId.split('/').slice(-2, -1)[0]!
        const row = rows.get(client) ?? {client, operations: 0, divergences: 0, failed: []}
        const state = test.result().state
        if (state === 'skipped' || state === 'pending') continue
        row.operations++
        if (state === 'failed') {
          row.divergences++
          row.failed.push(path.slice(1).join(' › '))
        }
        rows.set(client, row)
      }
    }
    const list = [...rows.values()].sort((a, b) => a.client.localeCompare(b.client))
    const width = Math.max(6, ...list.map((r) => r.client.length))
    const lines = ['', `${'client'.padEnd(width)}  operations  divergences`]
    for (const r of list) lines.push(`${r.client.padEnd(width)}  ${String(r.operations).padStart(10)}  ${String(r.divergences).padStart(11)}`)
    const total = list.reduce((n, r) => n + r.divergences, 0)
    for (const r of list) for (const f of r.failed) lines.push(`  divergence: ${r.client} › ${f}`)
    lines.push(`${total} divergences`)
    process.stdout.write(lines.join('\n') + '\n')
  }
}
