// The lab's search honours the real mappings (issue #10 item 1): the package's fields/*.yml and
// ecs@mappings, as a real Elasticsearch 8.x / 9.x with cilium_tetragon installed maps the documents.

import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createEsHandle, type EsHandle} from '../../src/clients/elasticsearch.js'
import {startElasticLab, type ElasticLab} from '../../src/lab/elastic/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-es-mappings-'))
const DS = 'logs-cilium_tetragon.log-default'

describe.each([8, 9] as const)('Elasticsearch lab %i.x mappings', (major) => {
  let lab: ElasticLab
  let es: EsHandle
  beforeAll(async () => {
    lab = await startElasticLab({scenario: major === 9 ? 'es-9' : 'es-8'})
    es = await createEsHandle({url: lab.esUrl, username: lab.admin.username, password: lab.admin.password, caFile: lab.caFile(dir)})
  })
  afterAll(async () => {
    await es?.close()
    await lab?.stop()
  })
  const count = async (query: unknown) => (await es.request<any>({method: 'POST', path: `/${DS}/_count`, body: {query}})).body.count as number
  const total = () => lab.store.docs.length

  it('event.original (keyword, index:false, doc_values:false): in every _source, found by no exists, refused by term', async () => {
    expect(total()).toBe(14)
    expect(lab.store.docs.every((d) => typeof (d._source as any).event?.original === 'string')).toBe(true)
    expect(await count({exists: {field: 'event.original'}})).toBe(0)
    const err = await es.request<any>({method: 'POST', path: `/${DS}/_search`, body: {query: {term: {'event.original': 'x'}}}, ignore: [400]})
    expect(err.statusCode).toBe(400)
    expect(err.body.error.type).toBe('search_phase_execution_exception')
    expect(err.body.error.caused_by.caused_by.reason).toBe('Cannot search on field [event.original] since it is not indexed nor has doc values.')
    // The other pipeline fields are searchable.
    expect(await count({exists: {field: 'process.executable'}})).toBe(14)
  })

  it('_field_caps reports searchable / aggregatable per field in the real shape', async () => {
    const r = await es.request<any>({method: 'GET', path: `/${DS}/_field_caps`, querystring: {fields: 'event.original,process.executable,cilium_tetragon.log.process_kprobe.args,cilium_tetragon.log,data_stream.dataset,message'}})
    expect(r.body.indices).toHaveLength(1)
    expect(r.body.indices[0]).toMatch(/^\.ds-logs-cilium_tetragon\.log-default-\d{4}\.\d{2}\.\d{2}-000001$/)
    const f = r.body.fields
    expect(f['event.original']).toEqual({keyword: {type: 'keyword', metadata_field: false, searchable: false, aggregatable: false}})
    expect(f['process.executable'].keyword).toMatchObject({searchable: true, aggregatable: true})
    expect(f['cilium_tetragon.log.process_kprobe.args']).toEqual({nested: {type: 'nested', metadata_field: false, searchable: false, aggregatable: false}})
    expect(f['cilium_tetragon.log'].object).toMatchObject({searchable: false, aggregatable: false})
    expect(f['data_stream.dataset'].constant_keyword).toMatchObject({searchable: true, aggregatable: true})
    expect(f.message.match_only_text).toMatchObject({searchable: true, aggregatable: false})
    const none = await es.request<any>({method: 'GET', path: `/${DS}/_field_caps`}).catch((e) => e)
    expect(none.statusCode).toBe(400)
  })

  it('_mapping shows the package mapping: nested args, constant_keyword event.dataset, event.original not indexed', async () => {
    const r = await es.request<any>({method: 'GET', path: `/${DS}/_mapping`})
    const [idx] = Object.keys(r.body)
    const props = r.body[idx].mappings.properties
    expect(props.cilium_tetragon.properties.log.properties.process_kprobe.properties.args.type).toBe('nested')
    expect(props.event.properties.dataset).toEqual({type: 'constant_keyword', value: 'cilium_tetragon.log'})
    expect(props.event.properties.original).toEqual({type: 'keyword', index: false, doc_values: false})
    expect(r.body[idx].mappings.dynamic_templates.some((t: any) => t.ecs_non_indexed_keyword)).toBe(true)
    const fm = await es.request<any>({method: 'GET', path: `/${DS}/_mapping/field/event.dataset`})
    expect(fm.body[idx].mappings['event.dataset']).toEqual({full_name: 'event.dataset', mapping: {dataset: {type: 'constant_keyword', value: 'cilium_tetragon.log'}}})
  })

  it('nested fields match only inside a nested query', async () => {
    const args = 'cilium_tetragon.log.process_kprobe.args'
    expect(await count({exists: {field: args}})).toBe(0)
    expect(await count({exists: {field: `${args}.file_arg.path`}})).toBe(0)
    expect(await count({nested: {path: args, query: {match_all: {}}}})).toBe(2)
    expect(await count({nested: {path: args, query: {term: {[`${args}.file_arg.path`]: '/tmp/tetragon'}}}})).toBe(1)
    const bad = await es.request<any>({method: 'POST', path: `/${DS}/_count`, body: {query: {nested: {path: 'cilium_tetragon.log', query: {match_all: {}}}}}}).catch((e) => e)
    expect(bad.statusCode).toBe(400)
    // An object exists through its indexed leaves.
    expect(await count({exists: {field: 'cilium_tetragon.log.process_kprobe'}})).toBe(2)
  })

  it('text is analysed: match_phrase matches tokens, not substrings; message cannot be aggregated', async () => {
    expect(await count({match_phrase: {message: 'process_kprobe'}})).toBe(2)
    // "tetragon" is a whole token of "/tmp/tetragon"; "tetrag" is only a substring.
    expect(await count({match_phrase: {message: 'tmp/tetragon'}})).toBe(1)
    expect(await count({match_phrase: {message: 'tetrag'}})).toBe(0)
    const agg = await es.request<any>({method: 'POST', path: `/${DS}/_search`, body: {size: 0, aggs: {m: {terms: {field: 'message'}}}}}).catch((e) => e)
    expect(agg.statusCode).toBe(400)
  })

  it('data_stream.* are constant_keyword without a value in the package template; event.dataset has one', async () => {
    // base-fields.yml redeclares data_stream.type without a value after logs@mappings (later component
    // templates win), and the package's Filebeat sidecar sends no data_stream.*.
    const r = await es.request<any>({method: 'GET', path: `/${DS}/_mapping/field/data_stream.*`})
    const [idx] = Object.keys(r.body)
    expect(r.body[idx].mappings['data_stream.type'].mapping.type).toEqual({type: 'constant_keyword'})
    expect(await count({term: {'data_stream.type': 'logs'}})).toBe(0)
    expect(await count({term: {'data_stream.dataset': 'cilium_tetragon.log'}})).toBe(0)
    expect(await count({term: {'event.dataset': 'cilium_tetragon.log'}})).toBe(14)
  })
})
