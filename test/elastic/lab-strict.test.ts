// The Elasticsearch lab is strict where a real server is: routes, methods and URL parameters come from
// Elasticsearch's REST API spec (fixtures/elastic/rest-api-spec), unknown body keys, queries and aggregations
// fail with the parser's own error. A lab that accepted them would let a wrong request pass every test.
import {request as httpsRequest} from 'node:https'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startElasticLab, type ElasticLab} from '../../src/lab/elastic/index.js'

let lab: ElasticLab

function call(method: string, path: string, body?: unknown, asAdmin = false) {
  return new Promise<{status: number; headers: Record<string, unknown>; text: string; body: any}>((resolve, reject) => {
    const admin = `Basic ${Buffer.from(`${lab.admin.username}:${lab.admin.password}`).toString('base64')}`
    const headers: Record<string, string> = {authorization: asAdmin ? admin : `ApiKey ${lab.credentials.apiKey}`}
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    if (payload !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(payload))
    }
    const req = httpsRequest(new URL(path, lab.esUrl), {method, headers, ca: lab.caPem, timeout: 30_000}, (res) => {
      let data = ''
      res.on('data', (c) => (data += c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, text: data, body: data ? JSON.parse(data) : undefined}))
    })
    req.on('error', reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

beforeAll(async () => {
  lab = await startElasticLab({scenario: 'healthy'})
})
afterAll(async () => {
  await lab?.stop()
})

describe('Elasticsearch lab: URL parameters', () => {
  it('refuses q= (query_string syntax it does not implement) as an unrecognized parameter instead of returning every document', async () => {
    const r = await call('GET', '/logs-*/_search?q=nonexistent')
    expect(r.status).toBe(400)
    expect(r.body.error.type).toBe('illegal_argument_exception')
    expect(r.body.error.reason).toBe('request [/logs-*/_search] contains unrecognized parameter: [q]')
  })

  it('suggests the parameter a typo was meant to be (BaseRestHandler)', async () => {
    const r = await call('GET', '/logs-*/_count?ignore_unavailabl=true')
    expect(r.status).toBe(400)
    expect(r.body.error.reason).toBe('request [/logs-*/_count] contains unrecognized parameter: [ignore_unavailabl] -> did you mean [ignore_unavailable]?')
  })

  it('honours filter_path (common options) instead of ignoring it', async () => {
    const r = await call('GET', '/?filter_path=version.number,tagline')
    expect(r.status).toBe(200)
    expect(r.body).toEqual({version: {number: '8.19.2'}, tagline: 'You Know, for Search'})
    const s = await call('POST', '/logs-*/_search?filter_path=hits.hits._id,-hits.total', {size: 1})
    expect(Object.keys(s.body)).toEqual(['hits'])
    expect(Object.keys(s.body.hits)).toEqual(['hits'])
    expect(Object.keys(s.body.hits.hits[0])).toEqual(['_id'])
  })

  it('renders ?pretty the way Jackson does', async () => {
    const r = await call('GET', '/?pretty&filter_path=tagline')
    expect(r.text).toBe('{\n  "tagline" : "You Know, for Search"\n}\n')
  })
})

describe('Elasticsearch lab: routes', () => {
  it('answers a route it does not serve (_pit, _cat) with the real no-handler body', async () => {
    const pit = await call('POST', '/logs-*/_pit?keep_alive=1m')
    expect(pit.status).toBe(400)
    expect(pit.body).toEqual({error: 'no handler found for uri [/logs-*/_pit?keep_alive=1m] and method [POST]'})
    const cat = await call('GET', '/_cat/indices')
    expect(cat.status).toBe(400)
    expect(cat.body).toEqual({error: 'no handler found for uri [/_cat/indices] and method [GET]'})
  })

  it('answers a wrong method with 405 and Allow', async () => {
    const r = await call('DELETE', '/_security/_authenticate')
    expect(r.status).toBe(405)
    expect(r.body).toEqual({error: 'Incorrect HTTP method for uri [/_security/_authenticate] and method [DELETE], allowed: [GET]', status: 405})
    expect(r.headers.allow).toBe('GET')
  })

  it('refuses a body on an API that takes none', async () => {
    const r = await call('GET', '/_data_stream', {name: 'x'})
    expect(r.status).toBe(400)
    expect(r.body.error.reason).toBe('request [GET /_data_stream] does not support having a body')
  })
})

describe('Elasticsearch lab: search bodies', () => {
  it('refuses a body key it does not implement (collapse) with the parser error', async () => {
    const r = await call('POST', '/logs-*/_search', {collapse: {field: 'host.name'}})
    expect(r.status).toBe(400)
    expect(r.body.error.type).toBe('parsing_exception')
    expect(r.body.error.reason).toBe('Unknown key for a START_OBJECT in [collapse].')
    expect(r.body.error.line).toBe(1)
    expect(r.body.error.col).toBe(13)
  })

  it('refuses query_string as an unknown query', async () => {
    const r = await call('POST', '/logs-*/_search', {query: {query_string: {query: 'nonexistent'}}})
    expect(r.status).toBe(400)
    expect(r.body.error.type).toBe('parsing_exception')
    expect(r.body.error.reason).toBe('unknown query [query_string]')
    expect(r.body.error.caused_by.type).toBe('named_object_not_found_exception')
  })

  it('refuses date_histogram and composite as unknown aggregation types', async () => {
    for (const type of ['date_histogram', 'composite']) {
      const r = await call('POST', '/logs-*/_search', {size: 0, aggs: {a: {[type]: {}}}})
      expect(r.status).toBe(400)
      expect(r.body.error.type).toBe('parsing_exception')
      expect(r.body.error.reason).toBe(`Unknown aggregation type [${type}]`)
      expect(r.body.error.caused_by.type).toBe('named_object_not_found_exception')
    }
  })

  it('refuses an aggregation parameter it does not implement (ObjectParser unknown field)', async () => {
    const r = await call('POST', '/logs-*/_search', {size: 0, aggs: {a: {terms: {field: 'host.name', min_doc_count: 2}}}})
    expect(r.status).toBe(400)
    expect(r.body.error.type).toBe('x_content_parse_exception')
    expect(r.body.error.reason).toMatch(/^\[1:\d+\] \[terms\] unknown field \[min_doc_count\]$/)
  })

  it('refuses anything but query in a count body', async () => {
    const r = await call('POST', '/logs-*/_count', {query: {match_all: {}}, size: 0})
    expect(r.status).toBe(400)
    expect(r.body.error.reason).toBe('request does not support [size]')
  })

  it('still answers what tetractl sends', async () => {
    const r = await call('POST', '/logs-*/_search?ignore_unavailable=true&allow_no_indices=true', {
      size: 0,
      track_total_hits: true,
      aggs: {indices: {terms: {field: '_index', size: 500}, aggs: {newest: {max: {field: '@timestamp'}}}}},
    })
    expect(r.status).toBe(200)
    expect(r.body.hits.total.value).toBeGreaterThan(0)
  })
})

describe('Elasticsearch lab: pipeline definitions and index settings', () => {
  it('refuses a processor without a required property before running anything (ConfigurationUtils)', async () => {
    const r = await call('POST', '/_ingest/pipeline/_simulate', {
      pipeline: {processors: [{set: {tag: 'fails', value: 'x'}}]},
      docs: [{_source: {foo: 'bar'}}],
    })
    expect(r.status).toBe(400)
    expect(r.body.error.root_cause[0]).toEqual({type: 'parse_exception', reason: '[field] required property is missing', processor_type: 'set', processor_tag: 'fails', property_name: 'field'})
    const noValue = await call('POST', '/_ingest/pipeline/_simulate', {pipeline: {processors: [{set: {field: 'a'}}]}, docs: [{_source: {}}]})
    expect(noValue.status).toBe(400)
    expect(noValue.body.error.reason).toBe('[value] required property is missing')
    expect(noValue.body.error.property_name).toBe('value')
  })

  it('names the missing pipeline of a simulate body as [pipeline] required property is missing', async () => {
    const r = await call('POST', '/_ingest/pipeline/_simulate', {docs: [{_source: {foo: 'bar'}}]})
    expect(r.status).toBe(400)
    expect(r.body.error).toMatchObject({type: 'parse_exception', reason: '[pipeline] required property is missing', property_name: 'pipeline'})
  })

  it('answers a simulate of a missing pipeline id, an empty docs list and a doc without _source as SimulatePipelineRequest does', async () => {
    const missing = await call('POST', '/_ingest/pipeline/no-such-pipeline/_simulate', {docs: [{_source: {}}]})
    expect(missing.status).toBe(400)
    expect(missing.body.error).toMatchObject({type: 'illegal_argument_exception', reason: 'pipeline [no-such-pipeline] does not exist'})
    const pipeline = {processors: [{set: {field: 'a', value: 1}}]}
    const empty = await call('POST', '/_ingest/pipeline/_simulate', {pipeline, docs: []})
    expect(empty.status).toBe(400)
    expect(empty.body.error.reason).toBe('must specify at least one document in [docs]')
    const noSource = await call('POST', '/_ingest/pipeline/_simulate', {pipeline, docs: [{_id: '1'}]})
    expect(noSource.status).toBe(400)
    expect(noSource.body.error).toMatchObject({type: 'parse_exception', reason: '[_source] required property is missing', property_name: '_source'})
  })

  it('refuses a processor parameter it does not know instead of ignoring it (ConfigurationUtils.readProcessor)', async () => {
    const r = await call('POST', '/_ingest/pipeline/_simulate', {
      pipeline: {processors: [{set: {tag: 't1', field: 'a', value: 1, feild: 'typo'}}]},
      docs: [{_source: {}}],
    })
    expect(r.status).toBe(400)
    expect(r.body.error).toMatchObject({
      type: 'parse_exception',
      reason: 'processor [set] doesn\'t support one or more provided configuration parameters [feild]',
      processor_type: 'set',
      processor_tag: 't1',
    })
    const common = await call('POST', '/_ingest/pipeline/_simulate', {
      pipeline: {processors: [{set: {tag: 't', description: 'd', if: 'true', ignore_failure: true, field: 'a', value: 1, override: true}}]},
      docs: [{_source: {}}],
    })
    expect(common.status).toBe(200)
  })

  it('keeps the number_of_replicas an index was created with', async () => {
    const created = await call('PUT', '/replicas-test', {settings: {number_of_replicas: '0'}}, true)
    expect(created.status).toBe(200)
    const r = await call('GET', '/replicas-test/_settings', undefined, true)
    expect(r.body['replicas-test'].settings.index.number_of_replicas).toBe('0')
  })
})
