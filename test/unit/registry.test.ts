// The check registry (src/checks/index.ts): ids are a public contract, requirements name checks that exist and
// can all be met, in both modes (through the cluster, and a standalone agent with --tetragon-address).
import {describe, expect, it} from 'vitest'

import type {CheckContext} from '../../src/checks/context.js'
import {checks} from '../../src/checks/index.js'
import {requirementsOf} from '../../src/engine/types.js'

const modes = {
  cluster: {opts: {}} as CheckContext,
  standalone: {opts: {tetragonAddress: '127.0.0.1:54321'}} as CheckContext,
}

describe('check registry', () => {
  it('ids are unique and follow <area>.<name>', () => {
    const ids = checks.map((c) => c.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+\.[a-z0-9-]+$/)
  })

  for (const [mode, ctx] of Object.entries(modes)) {
    it(`${mode}: every requirement is a known check, and requirements form no cycle`, () => {
      const byId = new Map(checks.map((c) => [c.id, c]))
      const unknown = checks.flatMap((c) => requirementsOf(c, ctx).filter((r) => !byId.has(r)).map((r) => `${c.id} requires unknown ${r}`))
      expect(unknown).toEqual([])
      // Depth-first: a requirement reached again on the current path is a cycle the runner could never resolve.
      const cyclic: string[] = []
      const visit = (id: string, path: string[]) => {
        if (path.includes(id)) return void cyclic.push([...path, id].join(' → '))
        for (const r of requirementsOf(byId.get(id)!, ctx)) visit(r, [...path, id])
      }
      for (const c of checks) visit(c.id, [])
      expect(cyclic).toEqual([])
    })
  }

  it('the public ids the README catalogue documents are all there', () => {
    expect(checks.map((c) => c.id)).toEqual([
      'k8s.connect', 'k8s.rbac', 'tetragon.daemonset', 'tetragon.grpc-bind', 'tetragon.grpc-reachable', 'tetragon.version',
      'tetragon.schema', 'tetragon.liveness', 'tetragon.policies', 'tetragon.dropped-events', 'service.exists',
      'service.selector', 'service.endpoints', 'dns.service', 'tetragon.export', 'tetragon.export-filters', 'es.connect',
      'es.dataset', 'es.freshness', 'es.fields', 'es.pipeline-errors', 'es.pipeline', 'es.template', 'es.simulate',
      'agent.shipper', 'kibana.package', 'kibana.dashboards',
    ])
  })
})
