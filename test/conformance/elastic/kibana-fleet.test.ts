// Kibana's Fleet API as tetractl calls it (src/services/setup/kibana.ts, src/checks/kibana/*.ts), driven by plain
// HTTP from Python (Debian has no Fleet client) against the lab's Kibana: status, package get / install, package
// policies, saved-objects search, and the kbn-xsrf rule a real Kibana enforces on writes.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ElasticLab} from '../../../src/lab/elastic/index.js'
import {type OpResult, pythonClientMissing, runOps} from './lab-client.js'

const missing = await pythonClientMissing()
if (missing && process.env.CI) throw new Error(missing)

describe.skipIf(missing !== undefined)('kibana-fleet', () => {
  let lab: ElasticLab
  let results: Map<string, OpResult>
  let stderr = ''
  beforeAll(async () => {
    ;({lab, results, stderr} = await runOps('kibana'))
  })
  afterAll(async () => {
    await lab?.stop()
  })
  const op = (name: string): OpResult => {
    const r = results.get(name)
    if (!r) throw new Error(`operation ${name} did not run: ${stderr.slice(-2000)}`)
    return r
  }
  const ok = (name: string) => {
    const r = op(name)
    expect(r.ok, `${name}: ${r.status} ${r.error_type} ${r.reason}`).toBe(true)
    return r.result
  }

  it('GET /api/status', () => {
    const r = ok('kibana status')
    expect(r.status.overall.level).toBe('available')
    expect(r.version.number).toMatch(/^\d+\.\d+\.\d+$/)
  })
  it('GET /api/fleet/epm/packages/cilium_tetragon?prerelease=true', () => {
    const r = ok('fleet get package')
    expect(r.item.name).toBe('cilium_tetragon')
    expect(['installed', 'not_installed']).toContain(r.item.status)
  })
  it('POST without kbn-xsrf is refused (400)', () => {
    const r = op('fleet install package without kbn-xsrf')
    expect(r.ok).toBe(false)
    expect(r.status).toBe(400)
    expect(r.reason).toBe('Request must contain a kbn-xsrf header.')
  })
  it('POST /api/fleet/epm/packages/cilium_tetragon installs the Elasticsearch assets', () => {
    const r = ok('fleet install package')
    const types = (r.items as Array<{type: string}>).map((i) => i.type)
    expect(types).toContain('ingest_pipeline')
    expect(types).toContain('index_template')
  })
  it('GET /api/fleet/package_policies with a kuery', () => {
    const r = ok('fleet list package policies')
    expect(Array.isArray(r.items)).toBe(true)
    expect(typeof r.total).toBe('number')
  })
  it('POST /api/fleet/package_policies', () => {
    const r = ok('fleet add package policy')
    expect(r.item.package.name).toBe('cilium_tetragon')
  })
  it('GET /api/saved_objects/_find for dashboards', () => {
    const r = ok('saved objects find dashboards')
    expect(Array.isArray(r.saved_objects)).toBe(true)
  })
})
