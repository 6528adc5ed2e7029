// indices.put_index_template (issue #11 step 2): a user's composable index template is stored, returned by
// GET _index_template, applied to the indices it matches, and refused where Elasticsearch refuses it.

import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createEsHandle, type EsHandle} from '../../src/clients/elasticsearch.js'
import {startElasticLab, type ElasticLab} from '../../src/lab/elastic/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-es-templates-'))

describe('Elasticsearch lab: indices.put_index_template', () => {
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
  const put = (name: string, body: unknown, querystring?: Record<string, string>) =>
    es.request<any>({method: 'PUT', path: `/_index_template/${name}`, body, querystring, ignore: [400, 404]})

  it('stores a template, returns it, and applies its settings and mappings to a matching index', async () => {
    const r = await put('tpl-a', {index_patterns: 'tpla-*', priority: 5, template: {settings: {number_of_shards: 1, number_of_replicas: 0}, mappings: {properties: {field: {type: 'keyword'}}}}})
    expect(r.statusCode).toBe(200)
    expect(r.body).toEqual({acknowledged: true})
    const g = await es.request<any>({method: 'GET', path: '/_index_template/tpl-a'})
    expect(g.body.index_templates).toEqual([
      {
        name: 'tpl-a',
        index_template: {
          index_patterns: ['tpla-*'],
          template: {settings: {index: {number_of_shards: '1', number_of_replicas: '0'}}, mappings: {properties: {field: {type: 'keyword'}}}},
          priority: 5,
        },
      },
    ])
    await es.request({method: 'PUT', path: '/tpla-1/_doc/1', querystring: {refresh: 'true'}, body: {field: 'Some Value'}})
    const m = await es.request<any>({method: 'GET', path: '/tpla-1/_mapping'})
    expect(m.body['tpla-1'].mappings.properties.field).toEqual({type: 'keyword'})
    const s = await es.request<any>({method: 'GET', path: '/tpla-1/_settings'})
    expect(s.body['tpla-1'].settings.index.number_of_replicas).toBe('0')
    expect((await es.request<any>({method: 'DELETE', path: '/_index_template/tpl-a'})).body).toEqual({acknowledged: true})
  })

  it('refuses unknown body keys, a missing index_patterns, create=true on an existing name and same-priority overlaps', async () => {
    const unknown = await put('tpl-b', {index_patterns: ['b-*'], setings: {}})
    expect(unknown.statusCode).toBe(400)
    expect(unknown.body.error.type).toBe('x_content_parse_exception')
    expect(unknown.body.error.reason).toMatch(/\[index_template\] unknown field \[setings\]/)
    expect((await put('tpl-b', {template: {}})).statusCode).toBe(400)
    expect((await put('tpl-b', {index_patterns: ['b-*']})).statusCode).toBe(200)
    const again = await put('tpl-b', {index_patterns: ['b-*']}, {create: 'true'})
    expect(again.body.error.reason).toBe('index template [tpl-b] already exists')
    const overlap = await put('tpl-c', {index_patterns: ['b-x*']})
    expect(overlap.statusCode).toBe(400)
    expect(overlap.body.error.reason).toMatch(/^index template \[tpl-c\] has index patterns \[b-x\*\] matching patterns from existing templates \[tpl-b\]/)
    expect((await put('tpl-c', {index_patterns: ['b-x*'], priority: 1})).statusCode).toBe(200)
    const badMapping = await put('tpl-d', {index_patterns: ['d-*'], template: {mappings: {properties: {f: {type: 'nope'}}}}})
    expect(badMapping.body.error.caused_by.reason).toBe('No handler for type [nope] declared on field [f]')
  })
})
