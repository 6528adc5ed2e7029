// Simulated Elasticsearch over real HTTPS, speaking the REST protocol the official client expects
// (as @elastic/elasticsearch 8.19/9.x expect): the product header and vendored content type on every response,
// REST API compatibility (an 8.x server rejects compatible-with=9), Basic / ApiKey authentication with
// the real 401/403 bodies, search/count with the query and aggregation subset of ./query.ts, data
// streams, index templates, ingest pipelines and simulate, settings, cluster health, _doc/_bulk/_rollover.
// Only tests and the lab import this file.

import type {IncomingMessage, ServerResponse} from 'node:http'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'

import {IngestDocument, ingest, ingestErrorBody, type JsonMap, type PipelineDefinition, PipelineConfigError, requiredProperty, checkedPipeline} from './ingest.js'
import {fieldCaps, getFieldMappings, getMappings, IndexMapping, MappingError, type MappingSource, MappingUnsupported, parseExplicitMappings} from './mappings.js'
import {EsHttpError, hitOf, matches, namedQueries, parseSort, runAggregations, sortDocs} from './query.js'
import {
  AuthError,
  authenticate,
  authorizeCluster,
  indexForbidden,
  type LabApiKey,
  type LabUser,
  mayAccessIndex,
  type Principal,
  principalName,
  WWW_AUTHENTICATE,
} from './security.js'
import {SearchBodyParser} from './search-body.js'
import {applyFilterPath, prettyJson, RawEsResponse, RestSpecRouter, type ServedApi} from './rest-spec.js'
import type {EsStore} from './store.js'
import {labTls} from './tls.js'

export interface RequestLogEntry {
  method: string
  /** Path without the query string. */
  path: string
  query: Record<string, string>
  status: number
  /** Username or `api_key:<id>` of the authenticated principal; never a secret. */
  principal?: string
  /** compatible-with version the client asked for, if any. */
  compatibleWith?: number
  ms: number
}

export interface FailureInjection {
  /** 429 = es_rejected_execution_exception, 503 = cluster unavailable. */
  status: 429 | 503
  /** How many matching requests fail before the server recovers. */
  times: number
  /** Only requests whose path matches (default: all). */
  path?: RegExp
}

export interface EsServerOptions {
  store: EsStore
  /** Version number `GET /` reports, e.g. 8.19.2 or 9.1.0. */
  version: string
  users: LabUser[]
  apiKeys: LabApiKey[]
  /** Omit `x-elastic-product` (a proxy that strips it, OpenSearch, ES < 7.14): the client throws ProductNotSupportedError (elastic/elasticsearch-js#1520). */
  notElasticsearch?: boolean
  failures?: FailureInjection[]
  clusterName?: string
}

export interface EsServer {
  url: string
  caPem: string
  requests(): RequestLogEntry[]
  clearRequests(): void
  /** Adds failures at runtime (tests). */
  injectFailures(f: FailureInjection): void
  stop(): Promise<void>
}

const json = (v: unknown) => JSON.stringify(v)

/** Whether some name matches both wildcard patterns (MetadataIndexTemplateService intersects their automata). */
function wildcardOverlap(p: string, q: string): boolean {
  const memo = new Map<string, boolean>()
  const f = (i: number, j: number): boolean => {
    const key = `${i},${j}`
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    let r = false
    if (i === p.length && j === q.length) r = true
    else if (i < p.length && p[i] === '*') r = f(i + 1, j) || (j < q.length && f(i, j + 1))
    else if (j < q.length && q[j] === '*') r = f(i, j + 1) || (i < p.length && f(i + 1, j))
    else if (i < p.length && j < q.length && p[i] === q[j]) r = f(i + 1, j + 1)
    memo.set(key, r)
    return r
  }
  return f(0, 0)
}

function errorBody(status: number, type: string, reason: string, extra: Record<string, unknown> = {}, causedBy?: unknown) {
  const one = {type, reason, ...extra}
  return {error: {root_cause: [one], ...one, ...(causedBy ? {caused_by: causedBy} : {})}, status}
}

interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  method: string
  path: string
  /** Path and query string as received (what RestController's messages quote). */
  uri: string
  query: Record<string, string>
  body: Buffer
  principal: Principal
  /** REST API spec name the request was routed to, and its path parts. */
  api: string
  parts: Record<string, string>
}

/**
 * The APIs the lab serves (names of rest-api-spec files) and, of each one's spec parameters, those it honours:
 * implemented, or without effect on a single in-memory node (timeouts, routing, preference, refresh: documents
 * are searchable as soon as they are written). Any other parameter is refused as unrecognized.
 */
export const SERVED_APIS: Record<string, ServedApi> = {
  info: {params: []},
  ping: {params: []},
  'cluster.health': {params: ['timeout', 'master_timeout', 'local', 'wait_for_status']},
  'security.authenticate': {params: []},
  'indices.create': {params: ['wait_for_active_shards', 'timeout', 'master_timeout']},
  'indices.refresh': {params: ['ignore_unavailable', 'allow_no_indices']},
  'indices.get_data_stream': {params: ['master_timeout']},
  'indices.get_index_template': {params: ['master_timeout', 'local']},
  'indices.delete_index_template': {params: ['timeout', 'master_timeout']},
  'indices.put_index_template': {params: ['create', 'cause', 'master_timeout']},
  'indices.get_settings': {params: ['master_timeout', 'local', 'ignore_unavailable', 'allow_no_indices']},
  'indices.rollover': {params: ['timeout', 'master_timeout', 'wait_for_active_shards']},
  'ingest.get_pipeline': {params: ['master_timeout']},
  'ingest.simulate': {params: []},
  search: {
    params: [
      'from', 'size', 'sort', '_source', '_source_includes', '_source_excludes', 'track_total_hits', 'rest_total_hits_as_int',
      'ignore_unavailable', 'allow_no_indices', 'timeout', 'preference', 'routing', 'request_cache',
    ],
  },
  count: {params: ['ignore_unavailable', 'allow_no_indices', 'preference', 'routing']},
  field_caps: {params: ['fields', 'ignore_unavailable', 'allow_no_indices', 'include_unmapped', 'filters', 'types']},
  'indices.get_mapping': {params: ['ignore_unavailable', 'allow_no_indices', 'master_timeout', 'local']},
  'indices.get_field_mapping': {params: ['ignore_unavailable', 'allow_no_indices', 'local']},
  bulk: {params: ['pipeline', 'refresh', 'timeout', 'wait_for_active_shards', 'routing']},
  index: {params: ['op_type', 'pipeline', 'refresh', 'timeout', 'wait_for_active_shards', 'routing']},
  create: {params: ['pipeline', 'refresh', 'timeout', 'wait_for_active_shards', 'routing']},
}

export async function startEsServer(opts: EsServerOptions): Promise<EsServer> {
  const tls = await labTls()
  const router = new RestSpecRouter(SERVED_APIS)
  const store = opts.store
  const major = Number(opts.version.split('.')[0]) as 8 | 9
  const log: RequestLogEntry[] = []
  const failures = [...(opts.failures ?? [])].map((f) => ({...f}))

  const server: Server = createServer({cert: tls.cert, key: tls.key}, (req, res) => {
    const started = performance.now()
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://localhost')
      const entry: RequestLogEntry = {method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, ms: 0}
      let compat: number | undefined
      const send = (status: number, body: unknown, headers: Record<string, string | string[]> = {}) => {
        entry.status = status
        entry.ms = Math.round(performance.now() - started)
        log.push(entry)
        const h: Record<string, string | string[]> = {
          // The client accepts vendored JSON only with a compatible-with it asked for.
          'content-type': compat ? `application/vnd.elasticsearch+json;compatible-with=${compat}` : 'application/json; charset=UTF-8',
          ...headers,
        }
        if (!opts.notElasticsearch) h['x-elastic-product'] = 'Elasticsearch'
        // Common options (common-options.html): filter_path reduces the response, pretty indents it.
        const shaped = applyFilterPath(body, url.searchParams.get('filter_path'))
        const pretty = url.searchParams.has('pretty') && url.searchParams.get('pretty') !== 'false'
        const payload = req.method === 'HEAD' ? '' : pretty ? `${prettyJson(shaped)}\n` : json(shaped)
        res.writeHead(status, h)
        res.end(payload)
      }
      try {
        compat = checkCompatibility(req, major)
        entry.compatibleWith = compat
        const uri = `${url.pathname}${url.search}`
        let principal: Principal
        try {
          principal = authenticate(req.headers.authorization, uri, opts.users, opts.apiKeys)
        } catch (e) {
          if (e instanceof AuthError) {
            return send(401, errorBody(401, 'security_exception', e.reason, {header: {'WWW-Authenticate': WWW_AUTHENTICATE}, ...e.extra}), {
              'www-authenticate': WWW_AUTHENTICATE,
            })
          }
          throw e
        }
        entry.principal = principalName(principal)
        const failure = failures.find((f) => f.times > 0 && (!f.path || f.path.test(url.pathname)))
        if (failure) {
          failure.times--
          return send(failure.status, failureBody(failure.status))
        }
        const method = req.method ?? 'GET'
        const matched = router.match(method, url.pathname, uri, url.searchParams, Buffer.concat(chunks))
        const ctx: Ctx = {req, res, method, path: url.pathname, uri, query: entry.query, body: matched.body, principal, api: matched.api, parts: matched.parts}
        const [status, body] = route(ctx)
        send(status, body)
      } catch (e) {
        if (e instanceof RawEsResponse) return send(e.status, e.body, e.headers)
        if (e instanceof AuthError) return send(e.status, errorBody(e.status, 'security_exception', e.reason, e.extra))
        if (e instanceof EsHttpError) return send(e.status, errorBody(e.status, e.type, e.message, e.extra, e.causedBy))
        send(500, errorBody(500, 'exception', (e as Error).message))
      }
    })
  })

  function route(c: Ctx): [number, unknown] {
    const m = c.method
    const p = c.parts
    const body = () => parseBody(c.body)
    switch (c.api) {
      case 'info':
      case 'ping':
        authorizeCluster(c.principal, 'cluster:monitor/main')
        return [200, mainInfo()]
      case 'cluster.health':
        authorizeCluster(c.principal, 'cluster:monitor/health')
        if (p.index !== undefined) break
        return [200, clusterHealth()]
      case 'security.authenticate':
        return [200, authenticateInfo(c.principal)]
      case 'indices.create':
        return createIndex(c, p.index, body())
      case 'indices.refresh': {
        // Documents are searchable as soon as the lab stores them: a refresh has nothing left to do.
        const {indices, missing} = authorizedTargets(c, 'indices:admin/refresh', p.index ?? '*')
        if (missing.length > 0 && c.query.ignore_unavailable !== 'true') throw notFound(missing[0])
        return [200, {_shards: {total: indices.length * 2, successful: indices.length, failed: 0}}]
      }
      case 'indices.get_data_stream':
        return [200, getDataStreams(c, p.name ?? '*')]
      case 'indices.get_index_template':
        authorizeCluster(c.principal, 'indices:admin/index_template/get')
        return getIndexTemplates(p.name ?? '*')
      case 'indices.put_index_template':
        authorizeCluster(c.principal, 'indices:admin/index_template/put')
        return putIndexTemplate(p.name, body(), c.query.create === 'true')
      case 'indices.delete_index_template':
        authorizeCluster(c.principal, 'indices:admin/index_template/delete')
        return deleteIndexTemplates(p.name)
      case 'ingest.simulate':
        authorizeCluster(c.principal, 'cluster:admin/ingest/pipeline/simulate')
        return simulate(p.id, body() as JsonMap)
      case 'ingest.get_pipeline':
        authorizeCluster(c.principal, 'cluster:admin/ingest/pipeline/get')
        return getPipelines(p.id ?? '*')
      case 'search':
      case 'count':
        return search(c, p.index ?? '_all', c.api === 'search' ? '_search' : '_count', body())
      case 'indices.get_settings':
        if (p.name !== undefined || p.index === undefined) break
        return getSettings(c, p.index)
      case 'field_caps':
        return fieldCapabilities(c, p.index ?? '*', body())
      case 'indices.get_mapping':
        return mappings(c, p.index ?? '*', undefined, undefined)
      case 'indices.get_field_mapping':
        return mappings(c, p.index ?? '*', p.fields, 'field')
      case 'bulk':
        return bulk(c, p.index)
      case 'indices.rollover': {
        if (p.new_index !== undefined) break
        const target = p.alias
        if (!mayAccessIndex(c.principal, 'indices:admin/rollover', target)) throw indexForbidden(c.principal, 'indices:admin/rollover', [target])
        const r = store.rollover(target)
        return [200, {acknowledged: true, shards_acknowledged: true, ...r, rolled_over: true, dry_run: false, lazy: false, conditions: {}}]
      }
      case 'index':
      case 'create': {
        const target = p.index
        if (!mayAccessIndex(c.principal, 'indices:data/write/bulk[s]', target)) throw indexForbidden(c.principal, 'indices:data/write/bulk[s]', [target])
        const src = body()
        if (!src || typeof src !== 'object') throw new EsHttpError(400, 'parse_exception', 'request body is required')
        const opType = c.api === 'create' || c.query.op_type === 'create' || (m === 'POST' && !p.id) ? 'create' : 'index'
        const r = store.write(target, src as JsonMap, {opType, id: p.id, pipeline: c.query.pipeline})
        if (!r.ok) return [r.status, {error: {root_cause: [r.error], ...r.error}, status: r.status}]
        return [201, {_index: r._index, _id: r._id, _version: 1, result: 'created', _shards: {total: 2, successful: 1, failed: 0}, _seq_no: r._seq_no, _primary_term: 1}]
      }
    }
    // A route of the spec whose variant the lab does not serve: answered as a route the server lacks.
    throw new RawEsResponse(400, {error: `no handler found for uri [${c.uri}] and method [${m}]`})
  }

  const methodNotAllowed = (c: Ctx) =>
    new EsHttpError(405, 'illegal_argument_exception', `Incorrect HTTP method for uri [${c.path}] and method [${c.method}]`)

  /**
   * PUT /<index>: a plain index. The lab keeps one shard, so it takes `settings` with index.number_of_shards 1 and
   * index.number_of_replicas only, and `mappings` (./mappings.ts parseExplicitMappings); other top-level keys get CreateIndexRequest's
   * "unknown key" answer and other settings IndexScopedSettings' "unknown setting" answer.
   */
  function createIndex(c: Ctx, name: string, raw: unknown): [number, unknown] {
    if (!mayAccessIndex(c.principal, 'indices:admin/create', name)) throw indexForbidden(c.principal, 'indices:admin/create', [name])
    const b = (raw ?? {}) as Record<string, unknown>
    for (const key of Object.keys(b)) if (key !== 'settings' && key !== 'mappings') throw new EsHttpError(400, 'parse_exception', `unknown key [${key}] for create index`)
    const flat: Record<string, unknown> = {}
    const walk = (node: unknown, prefix: string) => {
      if (node && typeof node === 'object' && !Array.isArray(node)) for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k)
      else flat[prefix.startsWith('index.') ? prefix : `index.${prefix}`] = node
    }
    if (b.settings !== undefined) walk(b.settings, '')
    for (const [k, v] of Object.entries(flat)) {
      const known = (k === 'index.number_of_shards' && String(v) === '1') || k === 'index.number_of_replicas'
      if (!known) {
        throw new EsHttpError(400, 'illegal_argument_exception', `unknown setting [${k}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings`)
      }
    }
    // IndexMetadata.SETTING_NUMBER_OF_REPLICAS is an int setting, min 0, kept (and returned by _settings) as a string.
    const replicas = flat['index.number_of_replicas']
    if (replicas !== undefined && !/^\d+$/.test(String(replicas))) {
      // Setting.parseInt: a negative number is "must be >= 0"; the wording for a non-number is unverified.
      const negative = /^-\d+$/.test(String(replicas))
      throw new EsHttpError(400, 'illegal_argument_exception', `Failed to parse value [${String(replicas)}] for setting [index.number_of_replicas]${negative ? ' must be >= 0' : ''}`)
    }
    const existing = store.indices.get(name) ?? store.dataStreams.get(name)
    if (existing) {
      const uuid = 'uuid' in existing ? existing.uuid : '_na_'
      throw new EsHttpError(400, 'resource_already_exists_exception', `index [${name}/${uuid}] already exists`, {index_uuid: uuid, index: name})
    }
    // A name a data stream template matches would become a data stream; the lab creates plain indices only.
    if (store.findTemplate(name)?.body.data_stream) {
      throw new EsHttpError(400, 'illegal_argument_exception', `cannot create index with name [${name}], because it matches with template [${store.findTemplate(name)!.name}] that creates data streams only, use create data stream api instead`)
    }
    // MetadataCreateIndexService parses the mappings after the name checks, while building the index.
    let explicit: MappingSource | undefined
    if (b.mappings !== undefined) {
      try {
        explicit = parseExplicitMappings(b.mappings)
      } catch (e) {
        if (e instanceof MappingUnsupported) throw new EsHttpError(400, 'illegal_argument_exception', e.message)
        if (!(e instanceof MappingError)) throw e
        // MapperService.parseMapping wraps the cause; root_cause is the innermost exception.
        const cause = {type: e.causeType, reason: e.message}
        throw new RawEsResponse(400, {error: {root_cause: [cause], type: 'mapper_parsing_exception', reason: `Failed to parse mapping: ${e.message}`, caused_by: cause}, status: 400})
      }
    }
    store.createIndex(name, replicas === undefined ? undefined : String(Number(replicas)), explicit)
    return [200, {acknowledged: true, shards_acknowledged: true, index: name}]
  }

  function mainInfo() {
    if (opts.notElasticsearch) {
      // What an OpenSearch cluster answers on `GET /` (no x-elastic-product header).
      return {name: 'lab-node', cluster_name: opts.clusterName ?? 'lab', version: {distribution: 'opensearch', number: '2.11.0'}, tagline: 'The OpenSearch Project: https://opensearch.org/'}
    }
    return {
      name: 'lab-es-0',
      cluster_name: opts.clusterName ?? 'tetractl-lab',
      cluster_uuid: 'dGV0cmFjdGwtbGFiLWNsdXN0ZXI',
      version: {
        number: opts.version,
        build_flavor: 'default',
        build_type: 'docker',
        build_hash: '0000000000000000000000000000000000000000',
        build_date: '2025-06-01T00:00:00.000Z',
        build_snapshot: false,
        lucene_version: major >= 9 ? '10.2.1' : '9.12.1',
        minimum_wire_compatibility_version: major >= 9 ? '8.19.0' : '7.17.0',
        minimum_index_compatibility_version: major >= 9 ? '8.0.0' : '7.0.0',
      },
      tagline: 'You Know, for Search',
    }
  }

  function clusterHealth() {
    return {
      cluster_name: opts.clusterName ?? 'tetractl-lab',
      status: 'green',
      timed_out: false,
      number_of_nodes: 1,
      number_of_data_nodes: 1,
      active_primary_shards: store.indices.size,
      active_shards: store.indices.size,
      relocating_shards: 0,
      initializing_shards: 0,
      unassigned_shards: 0,
      unassigned_primary_shards: 0,
      delayed_unassigned_shards: 0,
      number_of_pending_tasks: 0,
      number_of_in_flight_fetch: 0,
      task_max_waiting_in_queue_millis: 0,
      active_shards_percent_as_number: 100.0,
    }
  }

  function authenticateInfo(p: Principal) {
    if (p.kind === 'user') {
      return {username: p.user.username, roles: p.user.roles, full_name: null, email: null, metadata: {}, enabled: true, authentication_realm: {name: 'default_native', type: 'native'}, lookup_realm: {name: 'default_native', type: 'native'}, authentication_type: 'realm'}
    }
    return {username: p.key.username, roles: [], full_name: null, email: null, metadata: {}, enabled: true, authentication_realm: {name: '_es_api_key', type: '_es_api_key'}, lookup_realm: {name: '_es_api_key', type: '_es_api_key'}, authentication_type: 'api_key', api_key: {id: p.key.id, name: p.key.name}}
  }

  /** Security replaces wildcards with the authorized names; a concrete unauthorized name is a 403. */
  function authorizedTargets(c: Ctx, action: string, expression: string) {
    const resolved = store.resolve(expression)
    const concrete = expression.split(',').filter((p) => !p.includes('*') && p !== '_all' && !p.startsWith('-'))
    const denied = concrete.filter((n) => !resolved.missing.includes(n) && !mayAccessIndex(c.principal, action, n))
    if (denied.length > 0) throw indexForbidden(c.principal, action, denied)
    const indices = resolved.indices.filter((i) => mayAccessIndex(c.principal, action, i.dataStream ?? i.name) || mayAccessIndex(c.principal, action, i.name))
    return {indices, missing: resolved.missing}
  }

  function notFound(name: string): EsHttpError {
    return new EsHttpError(404, 'index_not_found_exception', `no such index [${name}]`, {'resource.type': 'index_or_alias', 'resource.id': name, index_uuid: '_na_', index: name})
  }

  function search(c: Ctx, expression: string, kind: '_search' | '_count', rawBody: unknown): [number, unknown] {
    const started = performance.now()
    // The body is parsed before anything runs: unknown keys, queries and aggregations fail the request.
    const parser = new SearchBodyParser(c.body.toString('utf8'))
    if (kind === '_count') parser.count(rawBody)
    else parser.search(rawBody)
    const b = (rawBody ?? {}) as Record<string, unknown>
    const q = c.query
    const {indices, missing} = authorizedTargets(c, 'indices:data/read/search', expression === '_all' ? '*' : expression)
    if (missing.length > 0 && q.ignore_unavailable !== 'true') throw notFound(missing[0])
    // allow_no_indices=false: a wildcard that resolves to nothing is an error (IndicesOptions).
    if (q.allow_no_indices === 'false' && indices.length === 0) throw notFound(expression === '_all' ? '*' : expression)
    const now = store.now()
    let docs = store.docsIn(indices)
    try {
      docs = docs.filter((d) => matches(d, b.query as Record<string, unknown> | undefined, now))
    } catch (e) {
      throw asSearchFailure(e, indices.length)
    }
    const shards = {total: indices.length, successful: indices.length, skipped: 0, failed: 0}
    if (kind === '_count') return [200, {count: docs.length, _shards: shards}]
    const size = Number(q.size ?? b.size ?? 10)
    const from = Number(q.from ?? b.from ?? 0)
    const sortSpec = parseSort(q.sort ? q.sort.split(',') : b.sort)
    let aggregations: Record<string, unknown> | undefined
    try {
      aggregations = runAggregations(docs, b.aggs ?? b.aggregations, now, b.query as Record<string, unknown> | undefined)
    } catch (e) {
      throw asSearchFailure(e, indices.length)
    }
    const sorted = sortDocs(docs, sortSpec)
    let sourceSpec: unknown = q._source !== undefined ? (q._source === 'false' ? false : q._source === 'true' ? true : q._source.split(',')) : b._source
    if (q._source_includes !== undefined || q._source_excludes !== undefined) {
      // URL _source_includes / _source_excludes take precedence over the body's _source (RestSearchAction).
      sourceSpec = {includes: q._source_includes?.split(',') ?? [], excludes: q._source_excludes?.split(',') ?? []}
    }
    const named = namedQueries(b.query as Record<string, unknown> | undefined)
    const hits = sorted.slice(from, from + size).map((h) => hitOf(h.doc, sourceSpec, sortSpec.length ? h.sort : undefined, named, now))
    // rest_total_hits_as_int asks for an exact integer total (RestSearchAction sets track_total_hits to true).
    const asInt = q.rest_total_hits_as_int === 'true'
    const tth: unknown = q.track_total_hits ?? b.track_total_hits ?? (asInt ? true : undefined)
    if (tth !== undefined && tth !== true && tth !== false && tth !== 'true' && tth !== 'false') {
      const n = Number(tth)
      if (n < -1) throw new EsHttpError(400, 'illegal_argument_exception', `[track_total_hits] parameter must be positive or equals to -1, got ${n}`)
      if (asInt && n !== -1 && n !== 2147483647) {
        throw new EsHttpError(400, 'illegal_argument_exception', `[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got ${n}`)
      }
    }
    let total: unknown
    // -1 is TRACK_TOTAL_HITS_DISABLED (SearchContext).
    if (tth === false || tth === 'false' || (tth !== true && tth !== 'true' && Number(tth) === -1)) total = undefined
    else if (tth === true || tth === 'true') total = {value: docs.length, relation: 'eq'}
    else {
      const cap = tth === undefined ? 10_000 : Number(tth)
      total = docs.length > cap ? {value: cap, relation: 'gte'} : {value: docs.length, relation: 'eq'}
    }
    return [
      200,
      {
        took: Math.max(1, Math.round(performance.now() - started)),
        timed_out: false,
        _shards: shards,
        hits: {...(asInt ? {total: total ? (total as {value: number}).value : -1} : total ? {total} : {}), max_score: sortSpec.length || hits.length === 0 ? null : 1.0, hits},
        ...(aggregations ? {aggregations} : {}),
      },
    ]
  }

  function asSearchFailure(e: unknown, shards: number): unknown {
    if (!(e instanceof EsHttpError)) return e
    if (e.type === 'parsing_exception' || e.type === 'parse_exception') return e
    // A shard-level failure surfaces as search_phase_execution_exception caused by the shard's error.
    const cause = {type: e.type, reason: e.message, ...e.extra, ...(e.causedBy ? {caused_by: e.causedBy} : {})}
    return new EsHttpError(
      400,
      'search_phase_execution_exception',
      'all shards failed',
      {phase: 'query', grouped: true, failed_shards: [{shard: 0, index: null, node: 'lab-es-0', reason: cause}]},
      cause,
    )
  }

  function getDataStreams(c: Ctx, expression: string) {
    const action = 'indices:admin/data_stream/get'
    const names = [...store.dataStreams.keys()].filter((n) => expression.split(',').some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(n)))
    const concrete = expression.split(',').filter((p) => !p.includes('*'))
    for (const n of concrete) {
      if (!store.dataStreams.has(n)) throw notFound(n)
      if (!mayAccessIndex(c.principal, action, n)) throw indexForbidden(c.principal, action, [n])
    }
    const visible = names.filter((n) => mayAccessIndex(c.principal, action, n)).sort()
    return {
      data_streams: visible.map((n) => {
        const ds = store.dataStreams.get(n)!
        // The reported template is the one matching *now* (GetDataStreamsTransportAction findV2Template).
        const current = store.findTemplate(n)
        const write = ds.indices[ds.indices.length - 1]
        return {
          name: ds.name,
          timestamp_field: {name: '@timestamp'},
          indices: ds.indices.map((i) => ({index_name: i.name, index_uuid: i.uuid, prefer_ilm: true, ilm_policy: i.settings.lifecycle ?? 'logs@lifecycle', managed_by: 'Index Lifecycle Management'})),
          generation: ds.generation,
          ...(ds.meta ? {_meta: ds.meta} : {}),
          status: 'GREEN',
          template: current?.name,
          ilm_policy: current?.settings.lifecycle ?? 'logs@lifecycle',
          next_generation_managed_by: 'Index Lifecycle Management',
          prefer_ilm: true,
          hidden: false,
          system: false,
          allow_custom_routing: false,
          replicated: false,
          rollover_on_write: false,
          ...(write.settings.mode ? {index_mode: write.settings.mode} : {}),
        }
      }),
    }
  }

  function getIndexTemplates(expression: string): [number, unknown] {
    // GetComposableIndexTemplateAction.Request takes one name or pattern.
    if (expression.includes(',')) throw new EsHttpError(400, 'illegal_argument_exception', "template name may not contain ','")
    const re = new RegExp(`^${expression.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
    const found = [...store.templates.values()].filter((t) => re.test(t.name))
    if (found.length === 0 && !expression.includes('*')) {
      return [404, errorBody(404, 'resource_not_found_exception', `index template matching [${expression}] not found`)]
    }
    // A pattern that matches nothing is a 404 with an empty list (RestGetComposableIndexTemplateAction).
    if (found.length === 0) return [404, {index_templates: []}]
    return [200, {index_templates: found.map((t) => ({name: t.name, index_template: t.body}))}]
  }

  /**
   * PUT _index_template/<name>: ComposableIndexTemplate's parser (unknown keys are x_content_parse_exception), then
   * MetadataIndexTemplateService.addIndexTemplateV2's checks (create=true on an existing name, overlapping patterns
   * at the same priority). The lab takes index_patterns, priority, version, _meta, data_stream,
   * allow_auto_create, and a `template` with settings (number_of_shards 1, number_of_replicas) and mappings
   * (./mappings.ts parseExplicitMappings); composed_of, aliases and lifecycle are refused by name.
   */
  function putIndexTemplate(name: string, raw: unknown, create: boolean): [number, unknown] {
    const b = (raw ?? {}) as Record<string, unknown>
    const KEYS = ['index_patterns', 'template', 'composed_of', 'priority', 'version', '_meta', 'data_stream', 'allow_auto_create', 'ignore_missing_component_templates', 'deprecated']
    for (const k of Object.keys(b)) {
      if (!KEYS.includes(k)) throw new EsHttpError(400, 'x_content_parse_exception', `[1:2] [index_template] unknown field [${k}]`)
    }
    for (const k of ['composed_of', 'ignore_missing_component_templates', 'deprecated']) {
      const v = b[k]
      if (v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== false) throw new EsHttpError(400, 'illegal_argument_exception', `the lab does not implement [${k}] in index templates (it has no component template API)`)
    }
    const patterns = b.index_patterns === undefined ? [] : ([] as unknown[]).concat(b.index_patterns).map(String)
    // ComposableIndexTemplate: index_patterns is a required field of the constructing parser.
    if (b.index_patterns === undefined) throw new EsHttpError(400, 'x_content_parse_exception', '[1:2] Required [index_patterns]')
    const t = (b.template ?? {}) as Record<string, unknown>
    for (const k of Object.keys(t)) {
      if (!['settings', 'mappings', 'aliases', 'lifecycle', 'data_stream_options'].includes(k)) throw new EsHttpError(400, 'x_content_parse_exception', `[1:2] [template] unknown field [${k}]`)
      if (k !== 'settings' && k !== 'mappings') throw new EsHttpError(400, 'illegal_argument_exception', `the lab does not implement [template.${k}] in index templates`)
    }
    const flat: Record<string, string> = {}
    const walk = (node: unknown, prefix: string) => {
      if (node && typeof node === 'object' && !Array.isArray(node)) for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k)
      else flat[prefix.startsWith('index.') ? prefix : `index.${prefix}`] = String(node)
    }
    if (t.settings !== undefined) walk(t.settings, '')
    for (const [k, v] of Object.entries(flat)) {
      const known = (k === 'index.number_of_shards' && v === '1') || (k === 'index.number_of_replicas' && /^\d+$/.test(v))
      if (!known) throw new EsHttpError(400, 'illegal_argument_exception', `unknown setting [${k}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings`)
    }
    let mappings: MappingSource | undefined
    if (t.mappings !== undefined) {
      try {
        mappings = parseExplicitMappings(t.mappings)
      } catch (e) {
        if (e instanceof MappingUnsupported) throw new EsHttpError(400, 'illegal_argument_exception', e.message)
        if (!(e instanceof MappingError)) throw e
        const cause = {type: e.causeType, reason: e.message}
        throw new RawEsResponse(400, {error: {root_cause: [cause], type: 'mapper_parsing_exception', reason: `Failed to parse mapping: ${e.message}`, caused_by: cause}, status: 400})
      }
    }
    if (create && store.templates.has(name)) throw new EsHttpError(400, 'illegal_argument_exception', `index template [${name}] already exists`)
    const priority = Number(b.priority ?? 0)
    const overlapping = [...store.templates.values()].filter(
      (o) => o.name !== name && Number(o.body.priority ?? 0) === priority && ((o.body.index_patterns as string[]) ?? []).some((op) => patterns.some((np) => wildcardOverlap(op, np))),
    )
    if (overlapping.length > 0) {
      const desc = overlapping.map((o) => `${o.name} => [${(o.body.index_patterns as string[]).join(', ')}]`).join(', ')
      throw new EsHttpError(400, 'illegal_argument_exception', `index template [${name}] has index patterns [${patterns.join(', ')}] matching patterns from existing templates [${overlapping.map((o) => o.name).join(',')}] with patterns (${desc}) that have the same priority [${priority}], multiple index templates may not match during index creation, please use a different priority`)
    }
    // GET returns settings nested under `index` with string values (Settings.toXContent), mappings as given.
    const nested: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(flat)) {
      const segs = k.split('.')
      let node = nested
      for (const s of segs.slice(0, -1)) node = (node[s] ??= {}) as Record<string, unknown>
      node[segs[segs.length - 1]] = v
    }
    const template = {
      ...(t.settings !== undefined ? {settings: nested} : {}),
      ...(mappings ? {mappings: new IndexMapping(mappings).toJson()} : {}),
    }
    const {template: _t, index_patterns: _p, ...rest} = b
    store.templates.set(name, {
      name,
      body: {index_patterns: patterns, ...(Object.keys(template).length > 0 || b.template !== undefined ? {template} : {}), ...rest},
      settings: {...(flat['index.number_of_replicas'] !== undefined ? {number_of_replicas: flat['index.number_of_replicas']} : {})},
      constants: {},
      mappings: mappings ?? {properties: {}, dynamicTemplates: []},
    })
    return [200, {acknowledged: true}]
  }

  /** MetadataIndexTemplateService.removeIndexTemplateV2: wildcards allowed, a missing concrete name is a 404, a template in use stays. */
  function deleteIndexTemplates(expression: string): [number, unknown] {
    const names = expression.split(',')
    const found = [...store.templates.keys()].filter((t) => names.some((n) => new RegExp(`^${n.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(t)))
    const missing = names.filter((n) => !n.includes('*') && !store.templates.has(n))
    if (missing.length > 0) throw new EsHttpError(404, 'resource_not_found_exception', `index_template [${missing.join(',')}] missing`)
    const inUse = found.filter((t) => [...store.dataStreams.keys()].some((ds) => store.findTemplate(ds)?.name === t))
    if (inUse.length > 0) {
      const streams = [...store.dataStreams.keys()].filter((ds) => inUse.includes(store.findTemplate(ds)?.name ?? ''))
      throw new EsHttpError(400, 'illegal_argument_exception', `unable to remove composable templates [${inUse.join(', ')}] as they are in use by a data streams [${streams.join(', ')}]`)
    }
    for (const t of found) store.templates.delete(t)
    return [200, {acknowledged: true}]
  }

  function getPipelines(expression: string): [number, unknown] {
    const res: Record<string, unknown> = {}
    for (const part of expression.split(',')) {
      const re = new RegExp(`^${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
      for (const [id, def] of store.pipelines) if (re.test(id)) res[id] = def
    }
    // A missing pipeline answers 404 with an empty object.
    return [Object.keys(res).length === 0 ? 404 : 200, res]
  }

  /** SimulatePipelineRequest.parse / parseWithPipelineId: the pipeline is built before the docs are read. */
  function simulate(id: string | undefined, raw: JsonMap | undefined): [number, unknown] {
    const b = raw ?? {}
    let def: PipelineDefinition | undefined
    let pid = id ?? '_simulate_pipeline'
    const refuse = (e: PipelineConfigError) => new EsHttpError(400, 'parse_exception', e.reason, e.metadata)
    if (id) {
      def = store.pipelines.get(id)
      // SimulatePipelineRequest.parseWithPipelineId: an IllegalArgumentException, so 400.
      if (!def) throw new EsHttpError(400, 'illegal_argument_exception', `pipeline [${id}] does not exist`)
    } else {
      const missing = requiredProperty(b, 'pipeline', 'map')
      if (missing) throw refuse(missing)
      const checked = checkedPipeline(b.pipeline, '_simulate_pipeline')
      if (checked instanceof PipelineConfigError) throw refuse(checked)
      def = checked
      pid = '_simulate_pipeline'
    }
    // SimulatePipelineRequest.parseDocs: docs is a non-empty list of objects, each with a `_source` object.
    const docsProblem = requiredProperty(b, 'docs', 'list')
    if (docsProblem) throw refuse(docsProblem)
    const list = b.docs as unknown[]
    if (list.length === 0) throw new EsHttpError(400, 'illegal_argument_exception', 'must specify at least one document in [docs]')
    for (const d of list) {
      if (!d || typeof d !== 'object' || Array.isArray(d)) throw new EsHttpError(400, 'illegal_argument_exception', 'malformed [docs] section, should include an inner object')
      const sourceProblem = requiredProperty(d as JsonMap, '_source', 'map')
      if (sourceProblem) throw refuse(sourceProblem)
    }
    const docs = (b.docs as JsonMap[]).map((d) => {
      const source = structuredClone(d._source as JsonMap)
      const doc = new IngestDocument(source, {_index: d._index as string | undefined, _id: d._id as string | undefined}, new Date(store.now()))
      const r = ingest(pid, def!, doc, {pipelines: store.pipelines, scripts: scriptsFor()})
      if (r.status === 'failed') return {error: ingestErrorBody(r.error)}
      if (r.status === 'dropped') return null
      return {doc: {_index: doc.meta._index, _version: '-3', _id: doc.meta._id, _source: doc.source, _ingest: {timestamp: doc.ingest.timestamp}}}
    })
    return [200, {docs}]
  }

  function scriptsFor() {
    return store.scripts
  }

  /** `_field_caps` over the backing indices the target resolves to (REST API field_caps). */
  function fieldCapabilities(c: Ctx, expression: string, rawBody: unknown): [number, unknown] {
    const q = c.query
    const b = (rawBody ?? {}) as Record<string, unknown>
    if (b.index_filter !== undefined || b.runtime_mappings !== undefined) {
      throw new EsHttpError(400, 'illegal_argument_exception', 'the lab does not support index_filter or runtime_mappings in _field_caps')
    }
    const fields = q.fields !== undefined ? q.fields.split(',').filter(Boolean) : ([] as string[]).concat((b.fields as string | string[] | undefined) ?? [])
    if (fields.length === 0) {
      throw new EsHttpError(400, 'action_request_validation_exception', "Validation Failed: 1: specified fields can't be null or empty;")
    }
    const {indices, missing} = authorizedTargets(c, 'indices:data/read/field_caps', expression === '_all' ? '*' : expression)
    if (missing.length > 0 && q.ignore_unavailable !== 'true') throw notFound(missing[0])
    if (indices.length === 0 && q.allow_no_indices === 'false') throw notFound(expression)
    const list = (v?: string) => (v === undefined ? undefined : v.split(',').filter(Boolean))
    const mapped = indices.map((i) => ({name: i.name, mapping: i.mapping, dataStream: i.dataStream}))
    return [200, fieldCaps(mapped, fields, {includeUnmapped: q.include_unmapped === 'true', filters: list(q.filters), types: list(q.types)})]
  }

  /** `GET <target>/_mapping` and `GET <target>/_mapping/field/<fields>`. */
  function mappings(c: Ctx, expression: string, fieldList: string | undefined, sub: string | undefined): [number, unknown] {
    if (sub !== undefined && (sub !== 'field' || !fieldList)) throw methodNotAllowed(c)
    const action = fieldList ? 'indices:admin/mappings/fields/get' : 'indices:admin/mappings/get'
    const {indices, missing} = authorizedTargets(c, action, expression === '_all' ? '*' : expression)
    if (missing.length > 0 && c.query.ignore_unavailable !== 'true') throw notFound(missing[0])
    const mapped = indices.map((i) => ({name: i.name, mapping: i.mapping, dataStream: i.dataStream}))
    return [200, fieldList ? getFieldMappings(mapped, fieldList.split(',')) : getMappings(mapped)]
  }

  function getSettings(c: Ctx, expression: string): [number, unknown] {
    const action = 'indices:monitor/settings/get'
    const {indices, missing} = authorizedTargets(c, action, expression)
    if (missing.length > 0) throw notFound(missing[0])
    const out: Record<string, unknown> = {}
    for (const i of indices) {
      out[i.name] = {
        settings: {
          index: {
            ...(i.settings.mode ? {mode: i.settings.mode} : {}),
            ...(i.settings.lifecycle ? {lifecycle: {name: i.settings.lifecycle}} : {}),
            ...(i.settings.default_pipeline ? {default_pipeline: i.settings.default_pipeline} : {}),
            ...(i.settings.final_pipeline ? {final_pipeline: i.settings.final_pipeline} : {}),
            ...(i.dataStream ? {hidden: 'true'} : {}),
            codec: 'best_compression',
            number_of_shards: '1',
            number_of_replicas: i.numberOfReplicas ?? '1',
            provided_name: i.name,
            creation_date: String(i.createdAt),
            uuid: i.uuid,
            version: {created: major >= 9 ? '9009000' : '8536000'},
          },
        },
      }
    }
    return [200, out]
  }

  function bulk(c: Ctx, defaultTarget: string | undefined): [number, unknown] {
    const started = performance.now()
    const lines = c.body.toString('utf8').split('\n').filter((l) => l.trim() !== '')
    const items: unknown[] = []
    let errors = false
    for (let i = 0; i < lines.length; i++) {
      const action = JSON.parse(lines[i]) as Record<string, Record<string, string>>
      const [op, meta] = Object.entries(action)[0]
      const target = meta._index ?? defaultTarget
      if (op === 'delete' || op === 'update') {
        items.push({[op]: {_index: target, _id: meta._id, status: 400, error: {type: 'illegal_argument_exception', reason: `the lab does not support bulk [${op}]`}}})
        errors = true
        if (op === 'update') i++
        continue
      }
      const source = JSON.parse(lines[++i] ?? '{}') as JsonMap
      if (!target) throw new EsHttpError(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;')
      if (!mayAccessIndex(c.principal, 'indices:data/write/bulk[s]', target)) {
        const e = indexForbidden(c.principal, 'indices:data/write/bulk[s]', [target])
        items.push({[op]: {_index: target, _id: meta._id ?? null, status: 403, error: {type: 'security_exception', reason: e.reason}}})
        errors = true
        continue
      }
      const r = store.write(target, source, {opType: op === 'index' ? 'index' : 'create', id: meta._id, pipeline: meta.pipeline ?? c.query.pipeline})
      if (!r.ok) {
        errors = true
        items.push({[op]: {_index: r._index ?? target, _id: r._id ?? null, status: r.status, error: r.error}})
      } else {
        items.push({[op]: {_index: r._index, _id: r._id, _version: 1, result: 'created', _shards: {total: 2, successful: 1, failed: 0}, _seq_no: r._seq_no, _primary_term: 1, status: 201}})
      }
    }
    return [200, {errors, took: Math.max(1, Math.round(performance.now() - started)), items}]
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://localhost:${port}`,
    caPem: tls.caPem,
    requests: () => log.map((e) => ({...e, query: {...e.query}})),
    clearRequests: () => {
      log.length = 0
    },
    injectFailures: (f) => {
      failures.push({...f})
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * REST API compatibility (8.x refuses compatible-with=9 with a 400, elastic/elasticsearch-js#2909): a server accepts its own major and the previous one in
 * `compatible-with`; an 8.x server answers 400 media_type_header_exception to compatible-with=9.
 */
function checkCompatibility(req: IncomingMessage, major: number): number | undefined {
  const versions: Array<[string, number]> = []
  for (const [name, header] of [
    ['Accept', req.headers.accept],
    ['Content-Type', req.headers['content-type']],
  ] as const) {
    const m = /compatible-with=(\d+)/.exec(header ?? '')
    if (m) versions.push([name, Number(m[1])])
  }
  if (versions.length === 0) return undefined
  for (const [name, v] of versions) {
    if (v !== major && v !== major - 1) {
      const headers = versions.map(([n]) => n).join(', ')
      const value = name === 'Accept' ? req.headers.accept : req.headers['content-type']
      throw new EsHttpError(400, 'media_type_header_exception', `Invalid media-type value on headers [${headers}]`, {}, {
        type: 'status_exception',
        reason: `${name} version must be either version ${major} or ${major - 1}, but found ${v}. ${name}=${value}`,
      })
    }
  }
  return versions[0][1]
}

function failureBody(status: 429 | 503) {
  if (status === 429) {
    return errorBody(
      429,
      'es_rejected_execution_exception',
      'rejected execution of org.elasticsearch.common.util.concurrent.TimedRunnable on TaskExecutionTimeTrackingEsThreadPoolExecutor[name = lab-es-0/search, queue capacity = 1000, active threads = 13, queued tasks = 1000, completed tasks = 42]',
    )
  }
  return errorBody(503, 'cluster_block_exception', 'blocked by: [SERVICE_UNAVAILABLE/2/no master];')
}

function parseBody(buf: Buffer): unknown {
  if (buf.length === 0) return undefined
  try {
    return JSON.parse(buf.toString('utf8'))
  } catch (e) {
    throw new EsHttpError(400, 'parse_exception', `Failed to parse content to map: ${(e as Error).message}`)
  }
}
