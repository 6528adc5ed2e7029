// indices.create with explicit `mappings` (issue #11): the lab validates them as Elasticsearch's mapping parser
// does, and the index's documents are then indexed, searched and aggregated under them.

import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createEsHandle, type EsHandle} from '../../src/clients/elasticsearch.js'
import {startElasticLab, type ElasticLab} from '../../src/lab/elastic/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-es-explicit-'))

describe('Elasticsearch lab: indices.create with mappings', () => {
  let lab: ElasticLab
  let es: EsHandle
  beforeAll(async () => {
    lab = await startElasticLab({scenario: 'es-8'})
    es = await createEsHandle({url: lab.esUrl, username: lab.admin.username, password: lab.admin.password, caFile: lab.caFile(dir)})
  })
  afterAll(async () => {
    await es?.close()
    await lab?.stop()
  })
  const put = (index: string, body: unknown) => es.request<any>({method: 'PUT', path: `/${index}`, body, ignore: [400]})

  it('keeps the declared types: GET _mapping returns them and search/aggregations use them', async () => {
    const r = await put('exp-a', {mappings: {properties: {host: {type: 'keyword'}, msg: {type: 'text', fields: {raw: {type: 'keyword', ignore_above: 10}}}, n: {type: 'long'}, user: {properties: {id: {type: 'integer'}}}}}})
    expect(r.statusCode).toBe(200)
    const m = await es.request<any>({method: 'GET', path: '/exp-a/_mapping'})
    expect(m.body['exp-a'].mappings).toEqual({
      properties: {
        host: {type: 'keyword'},
        msg: {type: 'text', fields: {raw: {type: 'keyword', ignore_above: 10}}},
        n: {type: 'long'},
        user: {properties: {id: {type: 'integer'}}},
      },
    })
    // `host` is a keyword: a term query matches the whole value only (dynamic mapping would have made it text).
    await es.request({method: 'PUT', path: '/exp-a/_doc/1', querystring: {refresh: 'true'}, body: {host: 'Web One', msg: 'Hello World', n: 3}})
    const term = await es.request<any>({method: 'POST', path: '/exp-a/_count', body: {query: {match: {host: 'web'}}}})
    expect(term.body.count).toBe(0)
    const exact = await es.request<any>({method: 'POST', path: '/exp-a/_count', body: {query: {term: {host: 'Web One'}}}})
    expect(exact.body.count).toBe(1)
    const agg = await es.request<any>({method: 'POST', path: '/exp-a/_search', body: {size: 0, aggs: {h: {terms: {field: 'host'}}}}})
    expect(agg.body.aggregations.h.buckets).toEqual([{key: 'Web One', doc_count: 1}])
  })

  it('refuses an unknown type and an unknown parameter with mapper_parsing_exception', async () => {
    const t = await put('exp-b', {mappings: {properties: {f: {type: 'strng'}}}})
    expect(t.statusCode).toBe(400)
    expect(t.body.error.type).toBe('mapper_parsing_exception')
    expect(t.body.error.reason).toBe('Failed to parse mapping: No handler for type [strng] declared on field [f]')
    expect(t.body.error.caused_by).toEqual({type: 'mapper_parsing_exception', reason: 'No handler for type [strng] declared on field [f]'})
    const p = await put('exp-b', {mappings: {properties: {f: {type: 'keyword', ignore_abov: 3}}}})
    expect(p.statusCode).toBe(400)
    expect(p.body.error.caused_by.reason).toBe('unknown parameter [ignore_abov] on mapper [f] of type [keyword]')
    const root = await put('exp-b', {mappings: {propertes: {}}})
    expect(root.body.error.caused_by.reason).toBe('Root mapping definition has unsupported parameters:  [propertes : {}]')
    const empty = await put('exp-b', {mappings: {properties: {'': {type: 'keyword'}}}})
    expect(empty.body.error.caused_by).toEqual({type: 'illegal_argument_exception', reason: 'field name cannot be an empty string'})
    // A real type the lab does not implement is refused, never silently mapped some other way.
    const nanos = await put('exp-b', {mappings: {properties: {t: {type: 'date_nanos'}}}})
    expect(nanos.statusCode).toBe(400)
    expect((await es.request<any>({method: 'GET', path: '/exp-b/_mapping', ignore: [404]})).statusCode).toBe(404)
  })

  it('dynamic: strict refuses a document with an undeclared field; dynamic: false leaves it unmapped', async () => {
    expect((await put('exp-s', {mappings: {dynamic: 'strict', properties: {a: {type: 'keyword'}}}})).statusCode).toBe(200)
    const bad = await es.request<any>({method: 'PUT', path: '/exp-s/_doc/1', body: {a: 'x', b: 'y'}, ignore: [400]})
    expect(bad.statusCode).toBe(400)
    expect(bad.body.error.type).toBe('strict_dynamic_mapping_exception')
    expect(bad.body.error.reason).toMatch(/mapping set to strict, dynamic introduction of \[b\] within \[_doc\] is not allowed/)
    expect((await put('exp-f', {mappings: {dynamic: false, properties: {a: {type: 'keyword'}}}})).statusCode).toBe(200)
    await es.request({method: 'PUT', path: '/exp-f/_doc/1', querystring: {refresh: 'true'}, body: {a: 'x', b: 'y'}})
    const m = await es.request<any>({method: 'GET', path: '/exp-f/_mapping'})
    expect(m.body['exp-f'].mappings).toEqual({dynamic: 'false', properties: {a: {type: 'keyword'}}})
    expect((await es.request<any>({method: 'POST', path: '/exp-f/_count', body: {query: {exists: {field: 'b'}}}})).body.count).toBe(0)
  })

  it('aggregations follow the mapped types: date/boolean keys, key order (list form), meta, a field is required', async () => {
    expect((await put('exp-g', {mappings: {properties: {d: {type: 'date'}, b: {type: 'boolean'}, s: {type: 'keyword'}, n: {type: 'long'}}}})).statusCode).toBe(200)
    for (const [id, doc] of Object.entries({1: {d: '2016-05-03', b: true, s: 'c', n: 100}, 2: {d: '2014-09-01', b: false, s: 'b', n: 10}, 3: {d: '2016-05-03', b: true, s: 'c', n: 9}})) {
      await es.request({method: 'PUT', path: `/exp-g/_doc/${id}`, querystring: {refresh: 'true'}, body: doc})
    }
    const search = async (aggs: unknown) => (await es.request<any>({method: 'POST', path: '/exp-g/_search', body: {size: 0, aggs}, ignore: [400]})).body
    const r = await search({d: {terms: {field: 'd'}}, b: {terms: {field: 'b'}}, s: {terms: {field: 's', order: [{_key: 'asc'}]}}, n: {terms: {field: 'n'}}, m: {max: {field: 'd'}, meta: {foo: 'bar'}}})
    expect(r.aggregations.d.buckets).toEqual([
      {key: 1462233600000, key_as_string: '2016-05-03T00:00:00.000Z', doc_count: 2},
      {key: 1409529600000, key_as_string: '2014-09-01T00:00:00.000Z', doc_count: 1},
    ])
    expect(r.aggregations.b.buckets).toEqual([
      {key: 1, key_as_string: 'true', doc_count: 2},
      {key: 0, key_as_string: 'false', doc_count: 1},
    ])
    expect(r.aggregations.s.buckets.map((x: any) => x.key)).toEqual(['b', 'c'])
    // Equal counts: ties are broken by key ascending, numerically for numbers.
    expect(r.aggregations.n.buckets.map((x: any) => x.key)).toEqual([9, 10, 100])
    expect(r.aggregations.m).toEqual({meta: {foo: 'bar'}, value: 1462233600000, value_as_string: '2016-05-03T00:00:00.000Z'})
    const noField = await search({t: {terms: {size: 1}}})
    expect(JSON.stringify(noField.error)).toMatch(/Required one of fields \[field, script\], but none were specified/)
  })

  it('a hit lists the named queries it matches (matched_queries), in hits and in top_hits', async () => {
    expect((await put('exp-n', {mappings: {properties: {text: {type: 'text'}}}})).statusCode).toBe(200)
    await es.request({method: 'PUT', path: '/exp-n/_doc/1', querystring: {refresh: 'true'}, body: {text: 'the snack'}})
    await es.request({method: 'PUT', path: '/exp-n/_doc/2', querystring: {refresh: 'true'}, body: {text: 'the cat'}})
    const query = {bool: {should: [{match: {text: {query: 'the', _name: 'the'}}}, {match: {text: {query: 'snack', _name: 'snack'}}}]}}
    const r = await es.request<any>({method: 'POST', path: '/exp-n/_search', body: {query, sort: ['_doc'], aggs: {t: {top_hits: {sort: ['_doc']}}}}})
    expect(r.body.hits.hits.map((h: any) => h.matched_queries)).toEqual([['the', 'snack'], ['the']])
    expect(r.body.aggregations.t.hits.hits.map((h: any) => h.matched_queries)).toEqual([['the', 'snack'], ['the']])
    // Without named queries there is no matched_queries key at all.
    const plain = await es.request<any>({method: 'POST', path: '/exp-n/_search', body: {query: {match: {text: 'the'}}}})
    expect(plain.body.hits.hits.every((h: any) => !('matched_queries' in h))).toBe(true)
  })
})
