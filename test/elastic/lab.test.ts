import {request as httpsRequest} from 'node:https'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createEsHandle, EsForbiddenError, EsUnreachableError, type EsHandle} from '../../src/clients/elasticsearch.js'
import {startElasticLab, type ElasticLab} from '../../src/lab/elastic/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-es-lab-'))

function raw(url: string, path: string, headers: Record<string, string>, ca: string, method = 'GET', body?: string) {
  return new Promise<{status: number; headers: Record<string, unknown>; body: any}>((resolve, reject) => {
    const u = new URL(path, url)
    const req = httpsRequest(u, {method, headers, ca}, (res) => {
      let data = ''
      res.on('data', (c) => (data += c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: data ? JSON.parse(data) : undefined}))
    })
    req.on('error', reject)
    if (body) req.write(body)
    req.end()
  })
}

describe('Elasticsearch lab (8.x)', () => {
  let lab: ElasticLab
  let es: EsHandle
  beforeAll(async () => {
    lab = await startElasticLab({scenario: 'healthy'})
    es = await createEsHandle({url: lab.esUrl, apiKey: lab.credentials.apiKey, caFile: lab.caFile(dir)})
  })
  afterAll(async () => {
    await es?.close()
    await lab?.stop()
  })

  it('answers GET / with the product header and the vendored content type', async () => {
    const r = await raw(lab.esUrl, '/', {authorization: `ApiKey ${lab.credentials.apiKey}`, accept: 'application/vnd.elasticsearch+json; compatible-with=8'}, lab.caPem)
    expect(r.status).toBe(200)
    expect(r.headers['x-elastic-product']).toBe('Elasticsearch')
    expect(r.headers['content-type']).toBe('application/vnd.elasticsearch+json;compatible-with=8')
    expect(r.body.version.number).toBe('8.19.2')
    const info = await es.info()
    expect(info.version.number).toBe('8.19.2')
  })

  it('rejects compatible-with=9 like an 8.x server', async () => {
    const r = await raw(lab.esUrl, '/', {authorization: `ApiKey ${lab.credentials.apiKey}`, accept: 'application/vnd.elasticsearch+json; compatible-with=9'}, lab.caPem)
    expect(r.status).toBe(400)
    expect(r.body.error.type).toBe('media_type_header_exception')
    expect(r.body.error.caused_by.reason).toMatch(/^Accept version must be either version 8 or 7, but found 9/)
  })

  it('answers 401 with security_exception and WWW-Authenticate; never logs credentials', async () => {
    const r = await raw(lab.esUrl, '/_search', {authorization: `Basic ${Buffer.from('tetractl:wrong').toString('base64')}`}, lab.caPem)
    expect(r.status).toBe(401)
    expect(r.body.error.type).toBe('security_exception')
    expect(r.body.error.reason).toBe('unable to authenticate user [tetractl] for REST request [/_search]')
    expect(r.headers['www-authenticate']).toContain('ApiKey')
    const log = JSON.stringify(lab.requests())
    expect(log).not.toContain(lab.credentials.password)
    expect(log).not.toContain(lab.credentials.apiKey)
    expect(log.toLowerCase()).not.toContain('authorization')
  })

  it('answers 403 for a user without index privileges on a concrete data stream', async () => {
    const h = await createEsHandle({url: lab.esUrl, username: 'no-logs', password: lab.credentials.password, caFile: lab.caFile(dir)})
    await expect(h.request({method: 'POST', path: '/logs-cilium_tetragon.log-default/_search', body: {}})).rejects.toSatisfy((e: unknown) => {
      expect(e).toBeInstanceOf(EsForbiddenError)
      expect((e as Error).message).toContain('action [indices:data/read/search] is unauthorized for user [no-logs]')
      return true
    })
    // wildcards resolve to the authorized indices only: empty, not 403
    const r = await h.request<any>({method: 'POST', path: '/logs-*/_search', body: {}})
    expect(r.body.hits.total.value).toBe(0)
    await h.close()
  })

  it('stores shipped documents parsed by the package pipeline, with event.dataset as constant_keyword', async () => {
    const r = await es.request<any>({
      method: 'POST',
      path: '/logs-*/_search',
      body: {size: 1, sort: [{'@timestamp': 'desc'}], query: {bool: {filter: [{term: {'event.dataset': 'cilium_tetragon.log'}}, {range: {'@timestamp': {gte: 'now-15m'}}}]}}, aggs: {ix: {terms: {field: '_index'}}, mx: {max: {field: '@timestamp'}}}},
    })
    expect(r.body.hits.total.value).toBe(14)
    const src = r.body.hits.hits[0]._source
    expect(src.event.dataset).toBeUndefined()
    expect(src.ecs.version).toBe('8.11.0')
    expect(src.message).toBe(src.event.original)
    expect(r.body.aggregations.ix.buckets[0].key).toMatch(/^\.ds-logs-cilium_tetragon\.log-default-\d{4}\.\d{2}\.\d{2}-000001$/)
    expect(typeof r.body.aggregations.mx.value).toBe('number')
  })

  it('serves data streams, templates, pipelines and simulate', async () => {
    const ds = await es.request<any>({method: 'GET', path: '/_data_stream/logs-cilium_tetragon.log-*'})
    expect(ds.body.data_streams[0].template).toBe('logs-cilium_tetragon.log')
    const t = await es.request<any>({method: 'GET', path: '/_index_template/logs-cilium_tetragon.log'})
    expect(t.body.index_templates[0].index_template.priority).toBe(200)
    const missing = await es.request<any>({method: 'GET', path: '/_index_template/nope', ignore: [404]})
    expect(missing.statusCode).toBe(404)
    const p = await es.request<any>({method: 'GET', path: '/_ingest/pipeline/logs-cilium_tetragon.log-*'})
    expect(Object.keys(p.body)).toEqual(['logs-cilium_tetragon.log-0.2.1'])
    const sim = await es.request<any>({method: 'POST', path: '/_ingest/pipeline/logs-cilium_tetragon.log-0.2.1/_simulate', body: {docs: [{_source: {message: 'not json'}}]}})
    expect(sim.body.docs[0].error.reason).toBe('field [_tmp_] not present as part of path [_tmp_]')
  })

  it('bulk-indexes through the data stream pipeline and enforces data stream and constant_keyword rules', async () => {
    const admin = await createEsHandle({url: lab.esUrl, username: lab.admin.username, password: lab.admin.password, caFile: lab.caFile(dir)})
    const line = '{"process_exit":{"process":{"binary":"/bin/true","pid":7},"status":1},"node_name":"n2","time":"2024-01-01T00:00:00Z"}'
    const nd = [
      {create: {_index: 'logs-cilium_tetragon.log-default'}},
      {'@timestamp': new Date().toISOString(), message: line},
      {index: {_index: 'logs-cilium_tetragon.log-default'}},
      {'@timestamp': new Date().toISOString(), message: line},
      {create: {_index: 'logs-cilium_tetragon.log-default'}},
      {'@timestamp': new Date().toISOString(), message: line, event: {dataset: 'tetragon.log'}},
      {create: {_index: 'logs-cilium_tetragon.log-default'}},
      {message: line},
    ]
    const r = await admin.request<any>({method: 'POST', path: '/_bulk', body: nd.map((x) => JSON.stringify(x)).join('\n') + '\n'})
    expect(r.body.errors).toBe(true)
    const [ok, wrongOp, wrongDataset, noTs] = r.body.items.map((i: any) => Object.values(i)[0])
    expect(ok.status).toBe(201)
    expect(wrongOp.error.reason).toBe('only write ops with an op_type of create are allowed in data streams')
    expect(wrongDataset.error.caused_by.reason).toContain('[constant_keyword] field [event.dataset] only accepts values that are equal to the value defined in the mappings [cilium_tetragon.log], but got [tetragon.log]')
    expect(noTs.error.reason).toContain('data stream timestamp field [@timestamp] is missing')
    const c = await admin.request<any>({method: 'POST', path: '/logs-cilium_tetragon.log-*/_count', body: {query: {term: {'event.action': 'end'}}}})
    expect(c.body.count).toBeGreaterThanOrEqual(1)
    const stored = lab.store.docs.find((d) => d._id === ok._id)!._source as any
    expect(stored.process.exit_code).toBe(1)
    expect(stored.event.ingested).toBeDefined()
    // ecs@mappings maps message / *.message as match_only_text: no terms aggregation on it.
    // (error.message is mapped only once a document carries it; before that the aggregation is empty.)
    const agg = await admin.request<any>({method: 'POST', path: '/logs-*/_search', body: {size: 0, aggs: {m: {terms: {field: 'message'}}}}}).catch((e) => e)
    expect(agg.statusCode).toBe(400)
    expect(agg.message).toContain('search_phase_execution_exception')
    const h = await admin.request<any>({method: 'GET', path: '/_cluster/health'})
    expect(h.body.status).toBe('green')
    const inline = await admin.request<any>({
      method: 'POST',
      path: '/_ingest/pipeline/_simulate',
      body: {pipeline: {processors: [{set: {field: 'a', value: 'b'}}]}, docs: [{_source: {}}]},
    })
    expect(inline.body.docs[0].doc._source).toEqual({a: 'b'})
    await admin.close()
  })

  it('ingests new lines through the shipper after its delay', async () => {
    const before = lab.store.docs.length
    lab.ingest('{"process_exec":{"process":{"binary":"/usr/bin/whoami","arguments":"-a","pod":{"namespace":"default","name":"xwing"}}},"node_name":"n1","time":"2024-01-01T00:00:00Z"}')
    await lab.flush()
    expect(lab.store.docs.length).toBe(before + 1)
    const doc = lab.store.docs[lab.store.docs.length - 1]._source as any
    expect(doc.process.executable).toBe('/usr/bin/whoami')
    expect(doc.host.name).toBe('n1')
  })
})

describe('Elasticsearch lab scenarios at the protocol level', () => {
  it('9.x server accepts the 8.x client (compatible-with=8)', async () => {
    const lab = await startElasticLab({scenario: 'es-9'})
    const es = await createEsHandle({url: lab.esUrl, apiKey: lab.credentials.apiKey, caFile: lab.caFile(dir)})
    expect((await es.info()).version.number).toBe('9.1.0')
    expect(lab.requests()[0].compatibleWith).toBe(8)
    await es.close()
    await lab.stop()
  })

  it('not-Elasticsearch mode triggers the product check', async () => {
    const lab = await startElasticLab({notElasticsearch: true})
    const es = await createEsHandle({url: lab.esUrl, apiKey: lab.credentials.apiKey, caFile: lab.caFile(dir)})
    await expect(es.info()).rejects.toBeInstanceOf(EsUnreachableError)
    await expect(es.info()).rejects.toThrow(/not Elasticsearch/)
    await es.close()
    await lab.stop()
  })

  it('fails N requests with 429/503, the client retries and succeeds', async () => {
    const lab = await startElasticLab({failures: [{status: 429, times: 1}, {status: 503, times: 1}]})
    const es = await createEsHandle({url: lab.esUrl, apiKey: lab.credentials.apiKey, caFile: lab.caFile(dir), backoffMs: 5})
    expect((await es.info()).version.number).toBe('8.19.2')
    expect(lab.requests().map((r) => r.status)).toEqual([429, 503, 200])
    await es.close()
    await lab.stop()
  })

  it('gives up after the bounded retries', async () => {
    const lab = await startElasticLab({failures: [{status: 503, times: 10}]})
    const es = await createEsHandle({url: lab.esUrl, apiKey: lab.credentials.apiKey, caFile: lab.caFile(dir), backoffMs: 1, maxRetries: 2})
    await expect(es.info()).rejects.toThrow(/503 cluster_block_exception/)
    expect(lab.requests()).toHaveLength(3)
    await es.close()
    await lab.stop()
  })

  it('template-missing: the data stream reports the current template but its write index has no package pipeline', async () => {
    const lab = await startElasticLab({scenario: 'template-missing'})
    const es = await createEsHandle({url: lab.esUrl, apiKey: lab.credentials.apiKey, caFile: lab.caFile(dir)})
    const ds = await es.request<any>({method: 'GET', path: '/_data_stream/logs-cilium_tetragon.log-default'})
    expect(ds.body.data_streams[0].template).toBe('logs-cilium_tetragon.log')
    const s = await es.request<any>({method: 'GET', path: '/logs-cilium_tetragon.log-default/_settings'})
    expect(Object.values<any>(s.body)[0].settings.index.default_pipeline).toBe('logs@default-pipeline')
    const r = await es.request<any>({method: 'POST', path: '/logs-cilium_tetragon.log-default/_search', body: {size: 1}})
    expect(r.body.hits.hits[0]._source.cilium_tetragon).toBeUndefined()
    // the read-only key may not roll over (indices:admin/rollover needs manage)
    await expect(es.request({method: 'POST', path: '/logs-cilium_tetragon.log-default/_rollover'})).rejects.toThrow(/403/)
    const admin = await createEsHandle({url: lab.esUrl, username: lab.admin.username, password: lab.admin.password, caFile: lab.caFile(dir)})
    const ro = await admin.request<any>({method: 'POST', path: '/logs-cilium_tetragon.log-default/_rollover'})
    expect(ro.body.new_index).toMatch(/-000002$/)
    const s2 = await admin.request<any>({method: 'GET', path: '/logs-cilium_tetragon.log-default/_settings'})
    expect(s2.body[ro.body.new_index].settings.index.default_pipeline).toBe('logs-cilium_tetragon.log-0.2.1')
    await admin.close()
    await es.close()
    await lab.stop()
  })

  it('pipeline-errors: documents carry error.message and event.kind pipeline_error', async () => {
    const lab = await startElasticLab({scenario: 'pipeline-errors'})
    const doc = lab.store.docs[0]._source as any
    expect(doc.event.kind).toBe('pipeline_error')
    expect(doc.error.message[0]).toBe('Processor rename with tag  in pipeline  failed with message: field [container.id] already exists')
    await lab.stop()
  })

  it('the CRI-wrapped line is rejected at index time and counted by the shipper', async () => {
    const lab = await startElasticLab({scenario: 'healthy', shipper: {mode: 'container-logs-raw'}})
    expect(lab.store.docs).toHaveLength(0)
    expect(lab.shipperStats().rejected).toBe(14)
    expect(lab.shipperStats().lastError).toBe('illegal_argument_exception: field [_tmp_] not present as part of path [_tmp_]')
    await lab.stop()
  })
})
