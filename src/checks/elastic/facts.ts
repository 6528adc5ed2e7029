// Facts the Elastic checks share through the memo: each is one Elasticsearch request at most, so the
// whole Elastic layer costs at most 9 requests (info, overview, data streams, template, pipelines,
// write-index settings, field capabilities, dataset statistics, simulate). Also the constants and error
// handling they share.

import type {EsHandle, EsInfo} from '../../clients/elasticsearch.js'
import {EsForbiddenError} from '../../clients/elasticsearch.js'
import {KibanaForbiddenError} from '../../clients/kibana.js'
import type {Outcome} from '../../engine/types.js'
import type {ElasticCheckContext, ElasticProfile} from './context.js'
import {labelHint} from '../../engine/runner.js'
import {DOCS} from '../../docs.js'

/** The package's dataset (event.dataset in elastic/integrations packages/tetragon/data_stream/log/fields/base-fields.yml):
 * data stream logs-cilium_tetragon.log-default. */
export const PACKAGE_DATASET = 'cilium_tetragon.log'
/** The dataset the commonly documented setup uses; the package never writes it. */
export const DOCUMENTED_DATASET = 'tetragon.log'
export const PACKAGE_NAME = 'cilium_tetragon'
export const TEMPLATE_NAME = `logs-${PACKAGE_DATASET}`
export const DATA_STREAM = `logs-${PACKAGE_DATASET}-default`

/** Fields the package pipeline sets (elastic/integrations packages/tetragon/data_stream/log/elasticsearch/ingest_pipeline/default.yml). */
export const PACKAGE_FIELDS = [
  'cilium_tetragon.log',
  'event.original',
  'message',
  'ecs.version',
  'event.action',
  'process.executable',
  'process.args',
  'process.pid',
  'process.entity_id',
  'process.parent.executable',
  'host.name',
  'container.id',
  'orchestrator.namespace',
] as const

/** Present on every document the pipeline parsed. */
export const CORE_FIELDS = ['cilium_tetragon.log', 'event.original', 'process.executable', 'process.entity_id', 'host.name'] as const

/** Fields the commonly documented setup expects but the pipeline never sets (same default.yml: no process.name, destination.*, event.category). */
export const NEVER_SET_FIELDS = [
  'process.name',
  'destination.ip',
  'source.ip',
  'event.category',
  'event.type',
  'user.name',
  'file.path',
  'kubernetes.namespace',
] as const

/** Where the documented fields' information lives instead. */
export const INSTEAD: Record<string, string> = {
  'process.name': 'process.executable',
  'destination.ip': 'cilium_tetragon.log.process_kprobe.args (nested, sock_arg.daddr)',
  'source.ip': 'cilium_tetragon.log.process_kprobe.args (nested, sock_arg.saddr)',
  'event.category': 'event.action (exec/exit only) or the cilium_tetragon.log.<event> key',
  'event.type': 'the cilium_tetragon.log.<event> key',
  'user.name': 'process.user.id',
  'file.path': 'cilium_tetragon.log.process_kprobe.args (nested, file_arg.path)',
  'kubernetes.namespace': 'orchestrator.namespace',
}

const EVENT_KEYS = ['process_exec', 'process_exit', 'process_kprobe'] as const

/** Mapped `type: nested` (elastic/integrations packages/tetragon/data_stream/log/fields/fields.yml):
 * visible only to `nested` queries. */
export const KPROBE_ARGS = 'cilium_tetragon.log.process_kprobe.args'

/** The fields es.fields counts. */
export const COUNTED_FIELDS = [...new Set<string>([...PACKAGE_FIELDS, ...NEVER_SET_FIELDS, ...EVENT_KEYS.map((k) => `cilium_tetragon.log.${k}`), KPROBE_ARGS])]

/** Documents whose `_source` es.fields reads for fields no query can count. */
export const SOURCE_SAMPLE_SIZE = 20

/**
 * An Elasticsearch request to paste: the URL and API key are the environment variables tetractl itself reads
 * (with ELASTICSEARCH_USERNAME/PASSWORD instead, replace the header by -u "$ELASTICSEARCH_USERNAME").
 */
export const esCurl = (method: 'GET' | 'POST', path: string): string =>
  `curl -sS -X ${method} "$ELASTICSEARCH_URL/${path}" -H "Authorization: ApiKey $ELASTICSEARCH_API_KEY"`

/** The shipper's logs, where an export that never reaches Elasticsearch shows why. */
export const SHIPPER_LOGS = 'kubectl logs -n kube-system ds/tetragon -c export-stdout --tail=50'

export const ERROR_QUERY = {bool: {should: [{exists: {field: 'error.message'}}, {term: {'event.kind': 'pipeline_error'}}], minimum_should_match: 1}}

/** Runs a check body; turns a missing privilege into not-evaluated naming it, with the grant hint. */
export async function guarded(run: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof EsForbiddenError) {
      return {
        status: 'not-evaluated',
        message: e.message,
        hint: labelHint(e.tryMessage),
        docs: DOCS.privileges,
        evidence: {action: e.action, privileges: e.privileges},
      }
    }
    if (e instanceof KibanaForbiddenError) {
      return {status: 'not-evaluated', message: e.message, hint: labelHint(e.tryMessage), docs: DOCS.fleetApi}
    }
    throw e
  }
}

export const skipNoEs = (): Outcome => ({status: 'skip', message: 'Elasticsearch is not configured (set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID).'})
export const skipNoKibana = (): Outcome => ({status: 'skip', message: 'Kibana is not configured (set KIBANA_URL).'})

// ---------------------------------------------------------------------------------------------
// Requests (memoised)

export function info(ctx: ElasticCheckContext, es: EsHandle, signal?: AbortSignal): Promise<EsInfo> {
  return ctx.memo.get('es:info', () => es.info(signal))
}

export interface DataStreamCount {
  /** Data stream or index name. */
  name: string
  dataset?: string
  namespace?: string
  count: number
  newest?: number
  /** Documents an Elastic Agent wrote (they carry elastic_agent.id). */
  elasticAgent: number
}

export interface Overview {
  total: number
  streams: DataStreamCount[]
  /** Document counts per dataset found by index name `logs-<dataset>-<namespace>`. */
  byIndexName: Record<string, number>
  /** Document counts per `event.dataset` value. */
  byEventDataset: Record<string, number>
  /** Document counts per `data_stream.dataset` value. */
  byDataStreamDataset: Record<string, number>
}

/** `.ds-logs-<dataset>-<namespace>-<yyyy.MM.dd>-<generation>` or a plain index name. */
export function parseIndexName(index: string): {name: string; dataset?: string; namespace?: string} {
  const ds = /^\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$/.exec(index)
  const name = ds ? ds[1] : index
  // Dataset and namespace contain no '-' (data stream naming scheme).
  const m = /^logs-([^-]+)-([^-]+)$/.exec(name)
  return m ? {name, dataset: m[1], namespace: m[2]} : {name}
}

/** Backing-index buckets (terms on _index) summed per data stream, largest first. */
function streamCounts(buckets: any[]): DataStreamCount[] {
  const streams = new Map<string, DataStreamCount>()
  for (const b of buckets) {
    const p = parseIndexName(String(b.key))
    const s = streams.get(p.name) ?? {name: p.name, dataset: p.dataset, namespace: p.namespace, count: 0, elasticAgent: 0}
    s.count += Number(b.doc_count)
    s.elasticAgent += Number(b.elastic_agent?.doc_count ?? 0)
    const newest = b.newest?.value ?? undefined
    if (typeof newest === 'number') s.newest = Math.max(s.newest ?? 0, newest)
    streams.set(p.name, s)
  }
  return [...streams.values()].sort((a, b) => b.count - a.count)
}

/** One search over logs-*: document counts and newest @timestamp per index, and the dataset fields. */
export function overview(ctx: ElasticCheckContext, es: EsHandle, signal?: AbortSignal): Promise<Overview> {
  return ctx.memo.get('es:overview', async () => {
    const r = await es.request<any>(
      {
        method: 'POST',
        path: '/logs-*/_search',
        querystring: {ignore_unavailable: true, allow_no_indices: true},
        body: {
          size: 0,
          track_total_hits: true,
          aggs: {
            // A Fleet-managed Elastic Agent stamps elastic_agent.*; a standalone Filebeat does not.
            indices: {terms: {field: '_index', size: 500}, aggs: {newest: {max: {field: '@timestamp'}}, elastic_agent: {filter: {exists: {field: 'elastic_agent.id'}}}}},
            event_dataset: {terms: {field: 'event.dataset', size: 100}},
            data_stream_dataset: {terms: {field: 'data_stream.dataset', size: 100}},
          },
        },
      },
      signal,
    )
    const aggs = r.body.aggregations ?? {}
    const streams = streamCounts(aggs.indices?.buckets ?? [])
    const byIndexName: Record<string, number> = {}
    for (const s of streams) if (s.dataset) byIndexName[s.dataset] = (byIndexName[s.dataset] ?? 0) + s.count
    const buckets = (a: any) => Object.fromEntries((a?.buckets ?? []).map((b: any) => [String(b.key), Number(b.doc_count)]))
    return {
      total: Number(r.body.hits?.total?.value ?? 0),
      streams,
      byIndexName,
      byEventDataset: buckets(aggs.event_dataset),
      byDataStreamDataset: buckets(aggs.data_stream_dataset),
    }
  })
}

export interface DatasetChoice {
  dataset: string
  /** Effective profile for field expectations. */
  profile: Exclude<ElasticProfile, 'auto'>
  /** Whether the user named the dataset or profile (mismatches then fail). */
  explicit: boolean
  counts: Record<string, number>
}

/** Which dataset the checks validate: --dataset, else the profile's, else where the documents are. */
export async function chooseDataset(ctx: ElasticCheckContext, es: EsHandle, signal?: AbortSignal): Promise<DatasetChoice> {
  const ov = await overview(ctx, es, signal)
  const count = (d: string) => Math.max(ov.byIndexName[d] ?? 0, ov.byEventDataset[d] ?? 0, ov.byDataStreamDataset[d] ?? 0)
  const counts: Record<string, number> = {[PACKAGE_DATASET]: count(PACKAGE_DATASET), [DOCUMENTED_DATASET]: count(DOCUMENTED_DATASET)}
  const {dataset, profile} = ctx.opts
  if (dataset) {
    counts[dataset] = count(dataset)
    return {dataset, profile: profile === 'auto' ? (dataset === PACKAGE_DATASET ? 'package' : 'seed') : profile, explicit: true, counts}
  }
  if (profile === 'package') return {dataset: PACKAGE_DATASET, profile, explicit: true, counts}
  if (profile === 'seed') return {dataset: DOCUMENTED_DATASET, profile, explicit: true, counts}
  const chosen = counts[PACKAGE_DATASET] > 0 || counts[DOCUMENTED_DATASET] === 0 ? PACKAGE_DATASET : DOCUMENTED_DATASET
  return {dataset: chosen, profile: chosen === PACKAGE_DATASET ? 'package' : 'seed', explicit: false, counts}
}

export interface DataStreamInfo {
  name: string
  template?: string
  indices: Array<{index_name: string}>
  generation: number
  _meta?: {package?: {name?: string}; managed_by?: string}
  index_mode?: string
}

export function dataStreams(ctx: ElasticCheckContext, es: EsHandle, signal?: AbortSignal): Promise<DataStreamInfo[]> {
  return ctx.memo.get('es:data_streams', async () => {
    const names = new Set([`logs-${PACKAGE_DATASET}-*`, `logs-${DOCUMENTED_DATASET}-*`])
    if (ctx.opts.dataset) names.add(`logs-${encodeURIComponent(ctx.opts.dataset)}-*`)
    const r = await es.request<{data_streams?: DataStreamInfo[]}>({method: 'GET', path: `/_data_stream/${[...names].join(',')}`, ignore: [404]}, signal)
    return r.body.data_streams ?? []
  })
}

export interface TemplateInfo {
  index_patterns?: string[]
  priority?: number
  composed_of?: string[]
  data_stream?: unknown
  _meta?: {package?: {name?: string}; managed_by?: string; managed?: boolean}
}

export function packageTemplate(ctx: ElasticCheckContext, es: EsHandle, signal?: AbortSignal): Promise<TemplateInfo | undefined> {
  return ctx.memo.get('es:template', async () => {
    const r = await es.request<any>({method: 'GET', path: `/_index_template/${TEMPLATE_NAME}`, ignore: [404]}, signal)
    if (r.statusCode === 404) return undefined
    return r.body.index_templates?.find((t: any) => t.name === TEMPLATE_NAME)?.index_template as TemplateInfo | undefined
  })
}

export interface PipelineInfo {
  description?: string
  processors?: Array<Record<string, Record<string, unknown>>>
  on_failure?: unknown[]
  _meta?: {managed_by?: string; package?: {name?: string}}
}

export function packagePipelines(ctx: ElasticCheckContext, es: EsHandle, signal?: AbortSignal): Promise<Record<string, PipelineInfo>> {
  return ctx.memo.get('es:pipelines', async () => {
    const r = await es.request<Record<string, PipelineInfo>>({method: 'GET', path: `/_ingest/pipeline/logs-${PACKAGE_DATASET}-*`, ignore: [404]}, signal)
    if (r.statusCode === 404) return {}
    // Fleet's @custom hook pipelines share the prefix; keep the versioned package pipelines only.
    return Object.fromEntries(Object.entries(r.body ?? {}).filter(([id]) => /-\d+\.\d+\.\d+(-[\w.]+)?$/.test(id)))
  })
}

/** Newest first by semantic version. */
export function pipelineIdsByVersion(pipelines: Record<string, PipelineInfo>): string[] {
  const v = (id: string) => (/-(\d+)\.(\d+)\.(\d+)/.exec(id) ?? []).slice(1).map(Number)
  return Object.keys(pipelines).sort((a, b) => {
    const [x, y] = [v(a), v(b)]
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0)
    return 0
  })
}

export interface IndexSettings {
  index: string
  defaultPipeline?: string
  finalPipeline?: string
}

/** Settings of the backing indices of one data stream (the write index is the newest). */
export function indexSettings(ctx: ElasticCheckContext, es: EsHandle, name: string, signal?: AbortSignal): Promise<IndexSettings[]> {
  return ctx.memo.get(`es:settings:${name}`, async () => {
    const r = await es.request<Record<string, {settings?: {index?: {default_pipeline?: string; final_pipeline?: string}}}>>(
      {method: 'GET', path: `/${encodeURIComponent(name)}/_settings`, ignore: [404]},
      signal,
    )
    if (r.statusCode === 404) return []
    return Object.entries(r.body ?? {})
      .map(([index, v]) => ({index, defaultPipeline: v.settings?.index?.default_pipeline, finalPipeline: v.settings?.index?.final_pipeline}))
      .sort((a, b) => a.index.localeCompare(b.index))
  })
}

/**
 * How each counted field can be counted, from the server's own mapping (_field_caps):
 * `exists` for searchable fields and objects, `nested` (with its path) for fields in a nested object,
 * `source` for fields neither indexed nor with doc values (ecs@mappings' event.original), which no
 * query finds and which are therefore read from a `_source` sample.
 */
export type FieldKind = {kind: 'exists'} | {kind: 'nested'; path: string} | {kind: 'source'}

export function fieldKinds(ctx: ElasticCheckContext, es: EsHandle, dataset: string, signal?: AbortSignal): Promise<Record<string, FieldKind>> {
  return ctx.memo.get(`es:field_caps:${dataset}`, async () => {
    const ancestors = (f: string) => f.split('.').slice(1).map((_, i, parts) => f.split('.').slice(0, i + 1).join('.'))
    const names = [...new Set(COUNTED_FIELDS.flatMap((f) => [...ancestors(f), f]))]
    const r = await es.request<{fields?: Record<string, Record<string, {type?: string; searchable?: boolean}>>}>(
      {
        method: 'GET',
        path: `/logs-${dataset}-*/_field_caps`,
        querystring: {fields: names.join(','), ignore_unavailable: true, allow_no_indices: true},
      },
      signal,
    )
    const caps = r.body.fields ?? {}
    const types = (f: string) => Object.values(caps[f] ?? {})
    const isNested = (f: string) => types(f).some((t) => t.type === 'nested')
    const out: Record<string, FieldKind> = {}
    for (const f of COUNTED_FIELDS) {
      const nestedIn = [...ancestors(f), f].reverse().find(isNested)
      if (nestedIn) out[f] = {kind: 'nested', path: nestedIn}
      // Unsearchable in any backing index: an exists query would undercount there.
      else if (types(f).some((t) => !['object', 'nested', 'unmapped'].includes(String(t.type)) && t.searchable === false)) out[f] = {kind: 'source'}
      else out[f] = {kind: 'exists'}
    }
    return out
  })
}

export interface SourceSample {
  /** Documents sampled (newest first). */
  size: number
  /** Of them, documents the package pipeline parsed (they carry cilium_tetragon.log). */
  parsed: number
  /** Sampled documents carrying each `source` field. */
  fields: Record<string, number>
  /** Parsed sampled documents carrying each `source` field. */
  parsedWith: Record<string, number>
}

export interface DatasetStats {
  dataset: string
  total: number
  newest?: {'@timestamp'?: string; event?: {ingested?: string}; cilium_tetragon?: {log?: {time?: string; node_name?: string}}}
  errorsTotal: number
  kinds: Record<string, FieldKind>
  recent: {
    count: number
    windowMs: number
    /** Exact counts of the `exists` and `nested` fields. */
    fields: Record<string, number>
    sample: SourceSample
    errors: number
    errorSamples: string[]
  }
  allFields: Record<string, number>
  allSample: SourceSample
  /** Per data stream of this dataset, from the same search (es.dataset quotes these, so its counts agree with es.fields). */
  streams: DataStreamCount[]
}

const PARSED_MARKERS = ['cilium_tetragon.log.node_name', 'cilium_tetragon.log.time']

function hasPath(src: unknown, path: string): boolean {
  const walk = (node: unknown, rest: string): boolean => {
    if (Array.isArray(node)) return node.some((n) => walk(n, rest))
    if (!node || typeof node !== 'object') return false
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === rest) return v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)
      if (rest.startsWith(`${k}.`) && walk(v, rest.slice(k.length + 1))) return true
    }
    return false
  }
  return walk(src, path)
}

function sampleOf(agg: any, fields: string[]): SourceSample {
  const hits: any[] = agg?.hits?.hits ?? []
  const out: SourceSample = {size: hits.length, parsed: 0, fields: {}, parsedWith: {}}
  for (const f of fields) out.fields[f] = out.parsedWith[f] = 0
  for (const h of hits) {
    const parsed = PARSED_MARKERS.some((m) => hasPath(h._source, m))
    if (parsed) out.parsed++
    for (const f of fields) {
      if (!hasPath(h._source, f)) continue
      out.fields[f]++
      if (parsed) out.parsedWith[f]++
    }
  }
  return out
}

/**
 * One search on logs-<dataset>-* (after the field capabilities): newest document, field presence
 * (recent and overall), a `_source` sample for unsearchable fields, pipeline errors.
 */
export function datasetStats(ctx: ElasticCheckContext, es: EsHandle, dataset: string, signal?: AbortSignal): Promise<DatasetStats> {
  return ctx.memo.get(`es:stats:${dataset}`, async () => {
    const kinds = await fieldKinds(ctx, es, dataset, signal)
    const filterFor = (f: string, k: FieldKind) =>
      k.kind === 'nested' ? {nested: {path: k.path, query: k.path === f ? {match_all: {}} : {exists: {field: f}}, ignore_unmapped: true}} : {exists: {field: f}}
    const fieldFilters = Object.fromEntries(Object.entries(kinds).filter(([, k]) => k.kind !== 'source').map(([f, k]) => [f, filterFor(f, k)]))
    const sourceFields = Object.entries(kinds).filter(([, k]) => k.kind === 'source').map(([f]) => f)
    const sample = sourceFields.length
      ? {sample: {top_hits: {size: SOURCE_SAMPLE_SIZE, sort: [{'@timestamp': {order: 'desc'}}], _source: {includes: [...sourceFields, ...PARSED_MARKERS]}}}}
      : {}
    const windowS = Math.max(1, Math.ceil(ctx.opts.windowMs / 1000))
    const r = await es.request<any>(
      {
        method: 'POST',
        path: `/logs-${encodeURIComponent(dataset)}-*/_search`,
        querystring: {ignore_unavailable: true, allow_no_indices: true},
        body: {
          size: 0,
          track_total_hits: true,
          aggs: {
            newest: {top_hits: {size: 1, sort: [{'@timestamp': {order: 'desc'}}], _source: ['@timestamp', 'event.ingested', 'cilium_tetragon.log.time', 'cilium_tetragon.log.node_name']}},
            errors_all: {filter: ERROR_QUERY},
            indices: {terms: {field: '_index', size: 500}, aggs: {elastic_agent: {filter: {exists: {field: 'elastic_agent.id'}}}}},
            all_fields: {filters: {filters: fieldFilters}},
            ...(sourceFields.length ? {all_sample: sample.sample} : {}),
            recent: {
              filter: {range: {'@timestamp': {gte: `now-${windowS}s`}}},
              aggs: {
                fields: {filters: {filters: fieldFilters}},
                ...sample,
                errors: {filter: ERROR_QUERY, aggs: {samples: {top_hits: {size: 5, sort: [{'@timestamp': {order: 'desc'}}], _source: ['error.message']}}}},
              },
            },
          },
        },
      },
      signal,
    )
    const a = r.body.aggregations ?? {}
    const counts = (f: any) => Object.fromEntries(Object.entries(f?.buckets ?? {}).map(([k, v]: [string, any]) => [k, Number(v.doc_count)]))
    const samples: string[] = []
    for (const h of a.recent?.errors?.samples?.hits?.hits ?? []) {
      for (const m of ([] as unknown[]).concat(h._source?.error?.message ?? [])) if (!samples.includes(String(m))) samples.push(String(m))
    }
    return {
      dataset,
      total: Number(r.body.hits?.total?.value ?? 0),
      newest: a.newest?.hits?.hits?.[0]?._source,
      errorsTotal: Number(a.errors_all?.doc_count ?? 0),
      kinds,
      recent: {
        count: Number(a.recent?.doc_count ?? 0),
        windowMs: windowS * 1000,
        fields: counts(a.recent?.fields),
        sample: sampleOf(a.recent?.sample, sourceFields),
        errors: Number(a.recent?.errors?.doc_count ?? 0),
        errorSamples: samples,
      },
      allFields: counts(a.all_fields),
      allSample: sampleOf(a.all_sample, sourceFields),
      streams: streamCounts(a.indices?.buckets ?? []),
    }
  })
}

export function simulate(ctx: ElasticCheckContext, es: EsHandle, pipelineId: string, line: string, signal?: AbortSignal) {
  return ctx.memo.get(`es:simulate:${pipelineId}`, async () => {
    const r = await es.request<{docs: Array<{doc?: {_source: Record<string, unknown>}; error?: {type?: string; reason?: string}}>}>(
      {method: 'POST', path: `/_ingest/pipeline/${encodeURIComponent(pipelineId)}/_simulate`, body: {docs: [{_index: DATA_STREAM, _source: {message: line}}]}},
      signal,
    )
    return r.body.docs?.[0]
  })
}

export const fmtAge = (ms: number): string => {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s}s`
  const m = Math.round(s / 60)
  if (m < 120) return `${m}m`
  const h = Math.round(m / 60)
  return h < 48 ? `${h}h` : `${Math.round(h / 24)}d`
}
