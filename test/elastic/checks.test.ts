import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {elasticChecks} from '../../src/checks/elastic/index.js'
import type {ElasticCheckOptions} from '../../src/checks/elastic/context.js'
import {createElasticCheckContext} from '../../src/checks/elastic/make-context.js'
import {runChecks} from '../../src/engine/runner.js'
import type {CheckResult} from '../../src/engine/types.js'
import {startElasticLab, type ElasticLab, type ElasticLabOptions} from '../../src/lab/elastic/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-es-checks-'))
const OPTS: ElasticCheckOptions = {maxAgeMs: 15 * 60_000, profile: 'auto', windowMs: 15 * 60_000}

async function run(labOpts: ElasticLabOptions, opts: Partial<ElasticCheckOptions> = {}, env?: (lab: ElasticLab) => Record<string, string>) {
  const lab = await startElasticLab(labOpts)
  try {
    const ctx = createElasticCheckContext({opts: {...OPTS, ...opts}, env: env ? env(lab) : lab.env(dir)})
    lab.clearRequests()
    const {results} = await runChecks(elasticChecks, ctx, {concurrency: 8})
    await ctx.close()
    const statuses = Object.fromEntries(results.map((r) => [r.id, r.status]))
    // The whole Elastic layer costs at most 9 Elasticsearch requests (one is _field_caps) in every scenario (retries of injected 429/503 aside).
    expect(lab.requests().filter((q) => q.status !== 429 && q.status !== 503).length).toBeLessThanOrEqual(9)
    return {lab, results, statuses, byId: (id: string) => results.find((r) => r.id === id) as CheckResult, requests: lab.requests()}
  } finally {
    await lab.stop()
  }
}

const ALL_PASS = {
  'es.connect': 'pass',
  'es.dataset': 'pass',
  'es.freshness': 'pass',
  'es.fields': 'pass',
  'es.pipeline-errors': 'pass',
  'es.pipeline': 'pass',
  'es.template': 'pass',
  'es.simulate': 'pass',
  'kibana.package': 'pass',
  'kibana.dashboards': 'warn',
}

describe('Elastic checks against the lab', () => {
  it('healthy: everything passes; kibana.dashboards warns (the package ships none); at most 9 ES requests', async () => {
    const r = await run({scenario: 'healthy'})
    expect(r.statuses).toEqual(ALL_PASS)
    expect(r.requests.length).toBeLessThanOrEqual(9)
    expect(r.requests.every((q) => q.status === 200)).toBe(true)
    expect(r.byId('kibana.dashboards').message).toContain('ships no dashboards')
    // The standalone lab ships as the package's Filebeat sidecar: no data_stream.* on the documents.
    expect(r.byId('es.dataset').evidence).toMatchObject({shipper: 'other'})
    expect(r.byId('es.dataset').message).toMatch(/data_stream\.dataset is not set on them \(the shipper does not send it; a Fleet-managed Elastic Agent would, Filebeat does not\)/)
    // no secret in any result
    const text = JSON.stringify(r.results)
    expect(text).not.toContain(r.lab.credentials.apiKey)
    expect(text).not.toContain(r.lab.credentials.password)
  })

  it('es.fields judges event.original (not searchable) on the newest documents\' _source: parsed documents without it are named', async () => {
    const r = await run({scenario: 'healthy'}, {}, (lab) => {
      // Parsed documents written around the package pipeline (pipeline _none): everything but event.original.
      const line = JSON.parse(lab.store.docs[0]._source.message as string)
      for (let i = 0; i < 25; i++) {
        const src = structuredClone(lab.store.docs[0]._source) as any
        delete src.event.original
        src['@timestamp'] = new Date(Date.now() - i).toISOString()
        src.cilium_tetragon.log.node_name = line.node_name
        const w = lab.store.write('logs-cilium_tetragon.log-default', src, {opType: 'create', pipeline: '_none'})
        expect(w.ok).toBe(true)
      }
      return lab.env(dir)
    })
    const fields = r.byId('es.fields')
    expect(fields.status).toBe('fail')
    expect(fields.message).toContain('event.original 0/20 of the newest sampled')
    expect((fields.evidence as any).fields['process.executable']).toBe(39)
  })

  it('package-dataset with basic auth: same as healthy', async () => {
    const r = await run({scenario: 'package-dataset', auth: 'basic'})
    expect(r.statuses).toEqual(ALL_PASS)
  })

  it('es-8 and es-9: the 8.19 client works against both', async () => {
    for (const scenario of ['es-8', 'es-9'] as const) {
      const r = await run({scenario})
      expect(r.statuses).toEqual(ALL_PASS)
      expect(r.byId('es.connect').message).toContain(scenario === 'es-9' ? '9.1.0' : '8.19.2')
      expect(r.requests.length).toBeLessThanOrEqual(9)
    }
  })

  it('no-data: es.dataset fails, data checks not evaluated, assets still pass', async () => {
    const r = await run({scenario: 'no-data'})
    expect(r.statuses).toMatchObject({
      'es.connect': 'pass',
      'es.dataset': 'fail',
      'es.freshness': 'not-evaluated',
      'es.fields': 'not-evaluated',
      'es.pipeline-errors': 'not-evaluated',
      'es.pipeline': 'pass',
      'es.template': 'pass',
      'es.simulate': 'pass',
      'kibana.package': 'pass',
    })
    expect(r.byId('es.dataset').hint).toContain('kubectl logs -n kube-system ds/tetragon -c export-stdout')
  })

  it('seed-dataset (auto): es.dataset warns naming where the data is and why; es.fields fails (unparsed)', async () => {
    const r = await run({scenario: 'seed-dataset'})
    expect(r.statuses).toMatchObject({'es.dataset': 'warn', 'es.freshness': 'pass', 'es.fields': 'fail', 'es.pipeline-errors': 'pass', 'es.template': 'pass', 'es.simulate': 'pass'})
    expect(r.byId('es.dataset').message).toContain('logs-tetragon.log-*')
    expect(r.byId('es.dataset').message).toContain('cilium_tetragon.log')
    expect(r.byId('es.fields').message).toContain('was parsed by the cilium_tetragon ingest pipeline')
  })

  it('seed-dataset with --profile package: es.dataset fails, naming the other dataset', async () => {
    const r = await run({scenario: 'seed-dataset'}, {profile: 'package'})
    expect(r.statuses['es.dataset']).toBe('fail')
    expect(r.byId('es.dataset').message).toMatch(/No documents under logs-cilium_tetragon\.log-\*; 14 documents are under logs-tetragon\.log-\*/)
  })

  it('package-dataset with --dataset tetragon.log: es.dataset fails and says the data is under cilium_tetragon.log', async () => {
    const r = await run({scenario: 'package-dataset'}, {dataset: 'tetragon.log'})
    expect(r.statuses['es.dataset']).toBe('fail')
    expect(r.byId('es.dataset').message).toContain('14 documents are under logs-cilium_tetragon.log-*')
    expect(r.byId('es.dataset').hint).toContain('--dataset cilium_tetragon.log')
  })

  it('healthy with --profile seed: es.fields names the fields the pipeline never sets', async () => {
    const r = await run({scenario: 'healthy'}, {profile: 'seed', dataset: 'cilium_tetragon.log'})
    expect(r.statuses['es.fields']).toBe('fail')
    expect(r.byId('es.fields').message).toContain('process.name (use process.executable)')
    expect(r.byId('es.fields').message).toContain('destination.ip')
  })

  it('pipeline-errors: es.pipeline-errors fails with the processor message and a shipper hint', async () => {
    const r = await run({scenario: 'pipeline-errors'})
    expect(r.statuses).toMatchObject({'es.dataset': 'pass', 'es.freshness': 'pass', 'es.pipeline-errors': 'fail', 'es.fields': 'fail', 'es.simulate': 'pass'})
    expect(r.byId('es.fields').message).toContain('orchestrator.namespace 0/14')
    expect(r.byId('es.pipeline-errors').message).toContain('field [container.id] already exists')
    expect(r.byId('es.pipeline-errors').hint).toContain('add_kubernetes_metadata')
  })

  it('stale-data: es.freshness fails with the age', async () => {
    const r = await run({scenario: 'stale-data'})
    expect(r.statuses).toMatchObject({'es.dataset': 'pass', 'es.freshness': 'fail', 'es.fields': 'pass', 'es.pipeline-errors': 'pass'})
    expect(r.byId('es.freshness').message).toMatch(/is 3h old/)
  })

  it('es-auth-failure: es.connect fails as unreachable, the rest is not evaluated', async () => {
    for (const auth of ['apiKey', 'basic'] as const) {
      const r = await run({scenario: 'es-auth-failure', auth})
      expect(r.statuses['es.connect']).toBe('fail')
      expect(r.byId('es.connect').unreachable).toBe(true)
      expect(r.byId('es.connect').message).toContain('401')
      expect(r.byId('es.connect').hint).toContain(auth === 'apiKey' ? 'ELASTICSEARCH_API_KEY' : 'ELASTICSEARCH_USERNAME')
      for (const id of ['es.dataset', 'es.pipeline', 'es.template', 'es.simulate']) expect(r.statuses[id]).toBe('not-evaluated')
      // Kibana uses the same (wrong) credentials by default
      expect(r.statuses['kibana.package']).toBe('fail')
    }
  })

  it('template-missing: es.template fails naming the rollover; es.fields fails (unparsed)', async () => {
    const r = await run({scenario: 'template-missing'})
    expect(r.statuses).toMatchObject({'es.dataset': 'pass', 'es.template': 'fail', 'es.fields': 'fail', 'es.pipeline': 'pass', 'kibana.package': 'pass'})
    expect(r.byId('es.template').hint).toBe('curl -sS -X POST "$ELASTICSEARCH_URL/logs-cilium_tetragon.log-default/_rollover" -H "Authorization: ApiKey $ELASTICSEARCH_API_KEY"')
    expect(r.requests.length).toBeLessThanOrEqual(9)
  })

  it('kibana-package-missing: kibana.package, es.template and es.pipeline fail with the install call', async () => {
    const r = await run({scenario: 'kibana-package-missing'})
    expect(r.statuses).toMatchObject({
      'es.dataset': 'pass',
      'es.fields': 'fail',
      'es.pipeline': 'fail',
      'es.template': 'fail',
      'es.simulate': 'not-evaluated',
      'kibana.package': 'fail',
    })
    expect(r.byId('kibana.package').hint).toContain('/api/fleet/epm/packages/cilium_tetragon')
    expect(r.byId('kibana.package').hint).toContain('kbn-xsrf')
  })

  it('a user without index privileges: data checks are not evaluated, naming the privilege', async () => {
    const r = await run({scenario: 'healthy'}, {}, (lab) => ({
      ELASTICSEARCH_URL: lab.esUrl,
      ELASTICSEARCH_USERNAME: 'no-logs',
      ELASTICSEARCH_PASSWORD: lab.credentials.password,
      ELASTICSEARCH_CA_CERT: lab.caFile(dir),
    }))
    expect(r.statuses['es.connect']).toBe('pass')
    // wildcard searches return nothing for this user, so no data is visible
    expect(r.statuses['es.dataset']).toBe('fail')
    expect(r.statuses['es.pipeline']).toBe('not-evaluated')
    expect(r.byId('es.pipeline').message).toContain('cluster:admin/ingest/pipeline/get')
    expect(r.byId('es.pipeline').hint).toContain('read_pipeline')
    expect(r.statuses['kibana.package']).toBe('skip')
  })

  it('not Elasticsearch (no x-elastic-product): es.connect fails as unreachable with the product-check reason', async () => {
    const r = await run({scenario: 'healthy', notElasticsearch: true})
    expect(r.statuses['es.connect']).toBe('fail')
    expect(r.byId('es.connect').unreachable).toBe(true)
    expect(r.byId('es.connect').message).toContain('is not Elasticsearch')
    expect(r.byId('es.connect').docs).toBeDefined()
  })

  it('a malformed API key fails es.connect with the variable to fix, never echoing the key', async () => {
    const r = await run({scenario: 'healthy'}, {}, (lab) => ({...lab.env(dir), ELASTICSEARCH_API_KEY: 'this is not-a-key'}))
    expect(r.statuses['es.connect']).toBe('fail')
    expect(r.byId('es.connect').message).toContain('ELASTICSEARCH_API_KEY (--es-api-key) is not a valid API key')
    expect(JSON.stringify(r.results)).not.toContain('this is not-a-key')
  })

  it('transient 429s are retried within the check', async () => {
    const r = await run({scenario: 'healthy', failures: [{status: 429, times: 1, path: /_search$/}]})
    expect(r.statuses['es.dataset']).toBe('pass')
    expect(r.requests.filter((q) => q.status === 429)).toHaveLength(1)
  })

  it('not configured: every check skips', async () => {
    const ctx = createElasticCheckContext({opts: OPTS, env: {}})
    const {results} = await runChecks(elasticChecks, ctx)
    expect(results.find((r) => r.id === 'es.connect')?.status).toBe('skip')
    expect(results.find((r) => r.id === 'kibana.package')?.status).toBe('skip')
  })
})

describe('one run, one count (issue #14 item 7)', () => {
  it('es.dataset and es.fields quote the same document count although documents arrive between the searches', async () => {
    const lab = await startElasticLab({scenario: 'healthy'})
    try {
      // A window that holds every document: es.fields then counts them all, as es.dataset does.
      const ctx = createElasticCheckContext({opts: {...OPTS, windowMs: 10 * 365 * 86_400_000}, env: lab.env(dir)})
      const open = ctx.es.bind(ctx)
      let arrived = false
      ctx.es = async () => {
        const es = await open()
        if (es && !(es as any).wrapped) {
          const request = es.request.bind(es)
          ;(es as any).wrapped = true
          es.request = (async (params: any, signal?: AbortSignal) => {
            const r = await request(params, signal)
            // Right after the overview search over logs-*, three more events are shipped and searchable.
            if (!arrived && params.path === '/logs-*/_search') {
              arrived = true
              for (let i = 0; i < 3; i++) lab.ingest(`{"process_exec":{"process":{"binary":"/usr/bin/late${i}","arguments":"-a","pod":{"namespace":"default","name":"xwing"}}},"node_name":"n1","time":"${new Date().toISOString()}"}`)
              await lab.flush()
            }
            return r
          }) as typeof es.request
        }
        return es
      }
      const {results} = await runChecks(elasticChecks, ctx, {only: ['es.dataset', 'es.fields'], concurrency: 1})
      await ctx.close()
      expect(arrived).toBe(true)
      const dataset = results.find((r) => r.id === 'es.dataset')!
      const fields = results.find((r) => r.id === 'es.fields')!
      const quoted = Number(/^(\d+) documents/.exec(dataset.message)?.[1])
      expect(fields.evidence?.scope).toBe('window')
      expect(quoted, `${dataset.message} / ${fields.message}`).toBe(fields.evidence?.documents)
    } finally {
      await lab.stop()
    }
  })
})
