// Facts the Elastic checks share through the memo: each is one Elasticsearch request at most, so the
// whole Elastic layer costs at most 8 requests (info, overview, data streams, template, pipelines,
// write-index settings, dataset statistics, simulate). Also the constants and error handling they share.

import type {EsHandle, EsInfo} from '../../clients/elasticsearch.js'
import {EsForbiddenError} from '../../clients/elasticsearch.js'
import {KibanaForbiddenError} from '../../clients/kibana.js'
import type {Outcome} from '../../engine/types.js'
import type {ElasticCheckContext, ElasticProfile} from './context.js'

/** The package's dataset (elastic.md §1): data stream logs-cilium_tetragon.log-default. */
export const PACKAGE_DATASET = 'cilium_tetragon.log'
/** The dataset the commonly documented setup uses (elastic.md §1). */
export const DOCUMENTED_DATASET = 'tetragon.log'
export const PACKAGE_NAME = 'cilium_tetragon'
export const TEMPLATE_NAME = `logs-${PACKAGE_DATASET}`
export const DATA_STREAM = `logs-${PACKAGE_DATASET}-default`

export const DOCS = {
  package: 'https://www.elastic.co/docs/reference/integrations/cilium_tetragon',
  integrationPr: 'https://github.com/elastic/integrations/pull/11610',
  dataStreams: 'https://www.elastic.co/docs/manage-data/data-store/data-streams',
  rollover: 'https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-rollover',
  pipelines: 'https://www.elastic.co/docs/manage-data/ingest/transform-enrich/ingest-pipelines',
  simulate: 'https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-ingest-simulate',
  privileges: 'https://www.elastic.co/docs/reference/elasticsearch/security-privileges',
  fleetApi: 'https://www.elastic.co/docs/reference/fleet/fleet-api-docs',
  compat: 'https://github.com/elastic/elasticsearch-js#compatibility',
} as const

/** Fields the package pipeline sets (elastic.md §2.5, §2.7). */
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

/** Fields the commonly documented setup expects but the pipeline never sets (elastic.md §1, §2.5). */
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
        hint: e.tryMessage,
        docs: DOCS.privileges,
        evidence: {action: e.action, privileges: e.privileges},
      }
    }
    if (e instanceof KibanaForbiddenError) {
      return {status: 'not-evaluated', message: e.message, hint: e.tryMessage, docs: DOCS.fleetApi}
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
            indices: {terms: {field: '_index', size: 500}, aggs: {newest: {max: {field: '@timestamp'}}}},
            event_dataset: {terms: {field: 'event.dataset', size: 100}},
            data_stream_dataset: {terms: {field: 'data_stream.dataset', size: 100}},
          },
        },
      },
      signal,
    )
    const aggs = r.body.aggregations ?? {}
    const streams = new Map<string, DataStreamCount>()
    for (const b of aggs.indices?.buckets ?? []) {
      const p = parseIndexName(String(b.key))
      const s = streams.get(p.name) ?? {name: p.name, dataset: p.dataset, namespace: p.namespace, count: 0}
      s.count += Number(b.doc_count)
      const newest = b.newest?.value ?? undefined
      if (typeof newest === 'number') s.newest = Math.max(s.newest ?? 0, newest)
      streams.set(p.name, s)
    }
    const byIndexName: Record<string, number> = {}
    for (const s of streams.values()) if (s.dataset) byIndexName[s.dataset] = (byIndexName[s.dataset] ?? 0) + s.count
    const buckets = (a: any) => Object.fromEntries((a?.buckets ?? []).map((b: any) => [String(b.key), Number(b.doc_count)]))
    return {
      total: Number(r.body.hits?.total?.value ?? 0),
      streams: [...streams.values()].sort((a, b) => b.count - a.count),
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
    if (ctx.opts.dataset) names.add(`logs-${ctx.opts.dataset}-*`)
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

export interface DatasetStats {
  dataset: string
  total: number
  newest?: {'@timestamp'?: string; event?: {ingested?: string}; cilium_tetragon?: {log?: {time?: string; node_name?: string}}}
  errorsTotal: number
  recent: {
    count: number
    windowMs: number
    fields: Record<string, number>
    errors: number
    errorSamples: string[]
  }
  allFields: Record<string, number>
}

/** One search on logs-<dataset>-*: newest document, field presence (recent and overall), pipeline errors. */
export function datasetStats(ctx: ElasticCheckContext, es: EsHandle, dataset: string, signal?: AbortSignal): Promise<DatasetStats> {
  return ctx.memo.get(`es:stats:${dataset}`, async () => {
    const fields = [...new Set([...PACKAGE_FIELDS, ...NEVER_SET_FIELDS, ...EVENT_KEYS.map((k) => `cilium_tetragon.log.${k}`)])]
    const fieldFilters = Object.fromEntries(fields.map((f) => [f, {exists: {field: f}}]))
    const windowS = Math.max(1, Math.ceil(ctx.opts.windowMs / 1000))
    const r = await es.request<any>(
      {
        method: 'POST',
        path: `/logs-${dataset}-*/_search`,
        querystring: {ignore_unavailable: true, allow_no_indices: true},
        body: {
          size: 0,
          track_total_hits: true,
          aggs: {
            newest: {top_hits: {size: 1, sort: [{'@timestamp': {order: 'desc'}}], _source: ['@timestamp', 'event.ingested', 'cilium_tetragon.log.time', 'cilium_tetragon.log.node_name']}},
            errors_all: {filter: ERROR_QUERY},
            all_fields: {filters: {filters: fieldFilters}},
            recent: {
              filter: {range: {'@timestamp': {gte: `now-${windowS}s`}}},
              aggs: {
                fields: {filters: {filters: fieldFilters}},
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
      recent: {
        count: Number(a.recent?.doc_count ?? 0),
        windowMs: windowS * 1000,
        fields: counts(a.recent?.fields),
        errors: Number(a.recent?.errors?.doc_count ?? 0),
        errorSamples: samples,
      },
      allFields: counts(a.all_fields),
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
