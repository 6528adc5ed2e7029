import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {IngestDocument, ingest, parseJsonLikeJackson} from '../../src/lab/elastic/ingest.js'
import {
  defaultIngestContext,
  fleetInstalledPipeline,
  packagePipeline,
  pipelineTestEvent,
  rawTestEntries,
  runTetragonPipeline,
} from '../../src/lab/elastic/pipeline.js'

// Elastic's own pipeline tests, copied into test/fixtures (SOURCES.md there).
const FIXTURES = resolve(__dirname, '../fixtures/elastic-pipeline-tests')

describe.each(['test-cilium-tetragon-log.log', 'test-execkprobe-log.log'])('pipeline test %s', (file) => {
  const lines = rawTestEntries(readFileSync(resolve(FIXTURES, file), 'utf8'))
  const expected = (JSON.parse(readFileSync(resolve(FIXTURES, `${file}-expected.json`), 'utf8')) as {expected: unknown[]}).expected

  it('has one expected document per input line', () => {
    expect(lines.length).toBe(expected.length)
  })

  it.each(lines.map((l, i) => [i + 1, l] as const))('line %i equals the expected document', (i, line) => {
    const out = runTetragonPipeline(pipelineTestEvent(line))
    expect(out.status).toBe('ok')
    if (out.status !== 'ok') return
    expect(out.doc.source).toStrictEqual(expected[i - 1])
  })
})

describe('pipeline behaviour outside the fixtures', () => {
  const run = (source: Record<string, any>) => runTetragonPipeline(source as any)

  it('rejects a non-JSON line: on_failure cannot remove the missing _tmp_', () => {
    const out = run({message: '2024-10-31T18:24:19.824Z stdout F {"process_exec":{}}'})
    expect(out.status).toBe('failed')
    if (out.status === 'failed') {
      expect(out.error.message).toBe('field [_tmp_] not present as part of path [_tmp_]')
      expect(out.error.processorType).toBe('remove')
    }
  })

  it('rejects a document without message (copy_from fails, then remove _tmp_ fails)', () => {
    const out = run({'@timestamp': '2024-01-01T00:00:00Z'})
    expect(out.status).toBe('failed')
  })

  it('stores a pipeline_error document when a rename target already exists', () => {
    const line = readFileSync(resolve(FIXTURES, 'test-execkprobe-log.log'), 'utf8').split('\n')[0]
    const out = run({message: line, container: {image: {name: 'quay.io/cilium/hubble-export-stdout:v1.0.4'}}})
    expect(out.status).toBe('ok')
    if (out.status !== 'ok') return
    const src = out.doc.source as any
    expect(src.event.kind).toBe('pipeline_error')
    expect(src.error.message).toEqual([
      'Processor rename with tag  in pipeline  failed with message: field [container.image.name] already exists',
    ])
    expect(src._tmp_).toBeUndefined()
    // processors after the failure did not run
    expect(src.host).toBeUndefined()
  })

  it('stores a pipeline_error document for a JSON line that is not an object', () => {
    const out = run({message: '["a"]'})
    expect(out.status).toBe('ok')
    if (out.status === 'ok') {
      const src = out.doc.source as any
      expect(src.event.kind).toBe('pipeline_error')
      expect(src.error.message[0]).toMatch(/^Processor script with tag copy_processes in pipeline  failed with message: dynamic method \[java.util.ArrayList, keySet\/0\] not found$/)
    }
  })

  it('keeps originalMessage when event.original is already set', () => {
    const out = run({message: '{"node_name":"n","time":"t"}', event: {original: '{"node_name":"n","time":"t"}'}})
    expect(out.status).toBe('ok')
    if (out.status === 'ok') expect((out.doc.source as any).originalMessage).toBeDefined()
  })

  it('names the pipeline in error.message only when nested', () => {
    const ctx = defaultIngestContext(new Map([['logs-cilium_tetragon.log-0.2.1', packagePipeline()]]))
    const outer = {processors: [{pipeline: {name: 'logs-cilium_tetragon.log-0.2.1'}}]}
    const doc = new IngestDocument({message: '"just a string"'})
    const out = ingest('outer', outer, doc, ctx)
    expect(out.status).toBe('ok')
    if (out.status === 'ok') expect((out.doc.source as any).error.message[0]).toContain('in pipeline logs-cilium_tetragon.log-0.2.1 failed')
  })

  it('Fleet appends the @custom hooks, which are skipped when missing', () => {
    const def = fleetInstalledPipeline('0.2.1')
    expect(def.processors.slice(-4).map((p) => (p.pipeline as any).name)).toEqual([
      'global@custom',
      'logs@custom',
      'logs-cilium_tetragon.integration@custom',
      'logs-cilium_tetragon.log@custom',
    ])
    const line = readFileSync(resolve(FIXTURES, 'test-execkprobe-log.log'), 'utf8').split('\n')[0]
    expect(runTetragonPipeline({message: line}, {definition: def}).status).toBe('ok')
  })

  it('parses JSON like the json processor: duplicates and trailing content fail', () => {
    expect(() => parseJsonLikeJackson('{"a":1,"a":2}')).toThrow(/Duplicate field 'a'/)
    expect(() => parseJsonLikeJackson('123 "foo"')).toThrow(/strict_json_parsing/)
    expect(parseJsonLikeJackson('')).toBeNull()
  })
})
