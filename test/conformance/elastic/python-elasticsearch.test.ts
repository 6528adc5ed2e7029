// Elastic's official Python client (Debian python3-elasticsearch 7.17) against the Elasticsearch lab: every
// request tetractl performs, the APIs around them, and requests a real server refuses or the lab does not
// implement (those must fail the way Elasticsearch fails them, never pass silently).
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ElasticLab} from '../../../src/lab/elastic/index.js'
import {type OpResult, pythonClientMissing, runOps} from './lab-client.js'

const missing = await pythonClientMissing()
if (missing && process.env.CI) throw new Error(missing)

describe.skipIf(missing !== undefined)('python-elasticsearch', () => {
  let lab: ElasticLab
  let results: Map<string, OpResult>
  let stderr = ''
  beforeAll(async () => {
    ;({lab, results, stderr} = await runOps('es'))
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
  const refused = (name: string, status: number) => {
    const r = op(name)
    expect(r.ok, `${name} must fail`).toBe(false)
    expect(r.status).toBe(status)
    return r
  }

  it('info', () => {
    const r = ok('info')
    expect(r.version.number).toMatch(/^8\.\d+\.\d+$/)
    expect(r.tagline).toBe('You Know, for Search')
  })
  it('ping', () => expect(ok('ping').alive).toBe(true))
  it('cluster.health', () => expect(['green', 'yellow', 'red']).toContain(ok('cluster.health').status))
  it('security.authenticate', () => {
    const r = ok('security.authenticate')
    expect(r.authentication_type).toBe('api_key')
    expect(typeof r.username).toBe('string')
  })

  it('search: overview (terms on _index with max, terms on dataset fields)', () => {
    const r = ok('search overview')
    expect(r.total.relation).toBe('eq')
    expect(r.total.value).toBeGreaterThan(0)
    const b = r.aggregations.indices.buckets[0]
    expect(b.key).toMatch(/^\.ds-logs-/)
    expect(typeof b.newest.value).toBe('number')
    expect(typeof b.newest.value_as_string).toBe('string')
    expect(Array.isArray(r.aggregations.event_dataset.buckets)).toBe(true)
  })
  it('search: dataset stats (top_hits, filter, keyed filters with exists, range with date math, sub-aggregations)', () => {
    const r = ok('search dataset stats')
    const a = r.aggregations
    expect(a.newest.hits.hits).toHaveLength(1)
    expect(Object.keys(a.newest.hits.hits[0]._source)).toContain('@timestamp')
    expect(typeof a.errors_all.doc_count).toBe('number')
    // event.original is mapped index: false (ecs@mappings), so exists never matches it; process.executable is indexed.
    expect(a.all_fields.buckets['process.executable'].doc_count).toBeGreaterThan(0)
    expect(typeof a.recent.fields.buckets['process.executable'].doc_count).toBe('number')
    expect(Array.isArray(a.recent.errors.samples.hits.hits)).toBe(true)
  })
  it('search: probe pod (bool filter/should, term, match_phrase, minimum_should_match, sort)', () => {
    const r = ok('search probe pod')
    expect(r.total.relation).toBe('eq')
  })
  it('search: ids + constant_keyword term with _source false', () => {
    const r = ok('search ids with dataset')
    expect(r.asked.length).toBeGreaterThan(0)
    expect([...r.found].sort()).toEqual([...r.asked].sort())
    expect(r.sources.every((s: unknown) => s === null)).toBe(true)
  })
  it('search: latest document (_source list, sort desc)', () => {
    const r = ok('search latest')
    expect(Object.keys(r.first._source)).toEqual(['@timestamp'])
    expect(r.first.sort).toHaveLength(1)
  })
  it('search: a dataset with no index (ignore_unavailable, allow_no_indices)', () => {
    const r = ok('search missing dataset')
    expect(r.total.value).toBe(0)
  })
  it('count', () => {
    const r = ok('count')
    expect(r.count).toBeGreaterThan(0)
    expect(r._shards.failed).toBe(0)
  })
  it('search with filter_path', () => {
    const r = ok('search filter_path')
    expect(Object.keys(r)).toEqual(['hits'])
    expect(Object.keys(r.hits.hits[0])).toEqual(['_index'])
  })
  it('indices.get_data_stream', () => {
    const r = ok('indices.get_data_stream')
    expect(r.data_streams[0].name).toBe('logs-cilium_tetragon.log-default')
    expect(r.data_streams[0].indices[0].index_name).toMatch(/^\.ds-logs-cilium_tetragon\.log-default-/)
  })
  it('indices.get_index_template', () => {
    const r = ok('indices.get_index_template')
    expect(r.index_templates[0].name).toBe('logs-cilium_tetragon.log')
    expect(r.index_templates[0].index_template.index_patterns).toContain('logs-cilium_tetragon.log-*')
  })
  it('indices.get_settings', () => {
    const r = ok('indices.get_settings')
    const [index] = Object.values(r) as any[]
    expect(index.settings.index.default_pipeline).toMatch(/^logs-cilium_tetragon\.log-/)
  })
  it('ingest.get_pipeline', () => {
    const r = ok('ingest.get_pipeline')
    expect(Object.keys(r).every((k) => k.startsWith('logs-cilium_tetragon.log-'))).toBe(true)
  })
  it('ingest.simulate', () => {
    const r = ok('ingest.simulate')
    expect(r.docs).toHaveLength(1)
    expect(r.docs[0].doc._source.process.executable).toBe('/usr/bin/curl')
  })
  it('field_caps', () => {
    const r = ok('field_caps')
    expect(Array.isArray(r.indices)).toBe(true)
    expect(r.fields['@timestamp'].date.type).toBe('date')
  })
  it('indices.get_mapping', () => {
    const r = ok('indices.get_mapping')
    const [index] = Object.values(r) as any[]
    expect(index.mappings.properties['@timestamp'].type).toBe('date')
  })

  it('refuses q= as an unrecognized parameter (the lab has no query_string)', () => {
    const r = refused('refuse q parameter', 400)
    expect(r.error_type).toBe('illegal_argument_exception')
    expect(r.reason).toBe('request [/logs-*/_search] contains unrecognized parameter: [q]')
  })
  it('refuses collapse with the search parser error', () => {
    const r = refused('refuse collapse', 400)
    expect(r.error_type).toBe('parsing_exception')
    expect(r.reason).toBe('Unknown key for a START_OBJECT in [collapse].')
  })
  it('refuses query_string as an unknown query', () => {
    const r = refused('refuse query_string', 400)
    expect(r.error_type).toBe('parsing_exception')
    expect(r.reason).toBe('unknown query [query_string]')
  })
  it('refuses date_histogram as an unknown aggregation', () => {
    const r = refused('refuse date_histogram', 400)
    expect(r.error_type).toBe('parsing_exception')
    expect(r.reason).toBe('Unknown aggregation type [date_histogram]')
  })
  it('refuses composite as an unknown aggregation', () => {
    const r = refused('refuse composite', 400)
    expect(r.reason).toBe('Unknown aggregation type [composite]')
  })
  it('answers _pit with the no-handler body', () => {
    const r = refused('refuse open_point_in_time', 400)
    expect(r.reason).toBe('no handler found for uri [/logs-*/_pit?keep_alive=1m] and method [POST]')
  })
  it('answers _cat/indices with the no-handler body', () => {
    const r = refused('refuse cat.indices', 400)
    expect(r.reason).toBe('no handler found for uri [/_cat/indices?format=json] and method [GET]')
  })
})
