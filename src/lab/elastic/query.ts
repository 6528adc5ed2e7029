// The subset of the Elasticsearch Query DSL and aggregations the checks use, evaluated over the lab's
// in-memory documents: bool/filter/must/should/must_not, term, terms, range (with date math), exists,
// match, match_phrase, match_all, prefix, wildcard, ids, nested; aggregations terms, max, min,
// value_count, cardinality, filter, filters, top_hits. Fields are resolved through the index mapping
// (./mappings.ts) as Elasticsearch does: `constant_keyword` values come from the
// mapping, not `_source`; a field neither indexed nor with doc values (ecs@mappings' `event.original`)
// never matches `exists` and refuses term-level queries; fields under a `nested` object match only inside
// a `nested` query; `text` / `match_only_text` fields match analysed tokens and cannot be aggregated.
// Only the lab imports this file.

import {isMap, type Json, type JsonMap} from './ingest.js'
import {aggregatable, analysed, type FieldEntry, type IndexMapping, searchable, tokens} from './mappings.js'

export interface StoredDoc {
  _id: string
  /** Concrete (backing) index name. */
  _index: string
  /** Data stream or index name the document was written to. */
  target: string
  _source: JsonMap
  _seq_no: number
  /** Field -> value of constant_keyword mappings of the index (null = no value yet). */
  constants: Record<string, string | null>
  /** The index mapping at search time (absent: fields resolve from `_source` alone). */
  mapping?: IndexMapping
}

/** A request error the server renders as an Elasticsearch error body. */
export class EsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    readonly extra: Record<string, unknown> = {},
    readonly causedBy?: {type: string; reason: string},
  ) {
    super(reason)
  }
}

const parsing = (reason: string) => new EsHttpError(400, 'parsing_exception', reason, {line: 1, col: 1})

/** The query types `matches` implements; search-body.ts refuses any other as Elasticsearch refuses an unknown one. */
export const QUERY_TYPES = ['match_all', 'match_none', 'bool', 'term', 'terms', 'ids', 'exists', 'prefix', 'wildcard', 'match', 'match_phrase', 'range', 'nested']

/** The aggregation types `runAgg` implements (same rule). */
export const AGGREGATION_TYPES = ['terms', 'max', 'min', 'value_count', 'cardinality', 'filter', 'filters', 'top_hits']

/** ecs@mappings maps `message` and `*.message` as match_only_text (fixtures/elastic/ecs@mappings.json). */
export function isMatchOnlyText(field: string): boolean {
  return field === 'message' || field.endsWith('.message')
}

const DATE_FIELDS = new Set(['@timestamp', 'event.ingested', 'event.created'])

/** The mapped type of `field` in the first of `docs` whose index maps it (undefined: unmapped everywhere). */
function mappedType(docs: StoredDoc[], field: string): string | undefined {
  for (const d of docs) {
    const t = d.mapping?.get(field)?.def.type
    if (t !== undefined) return t
  }
  return undefined
}

/** Date semantics: a `date` mapping, or (documents without mappings) the well-known ECS date fields. */
const isDateField = (docs: StoredDoc[], field: string) => mappedType(docs, field) === 'date' || DATE_FIELDS.has(field)

const NUMERIC_TYPES = new Set(['long', 'integer', 'short', 'byte', 'double', 'float'])

/**
 * A terms bucket key as Elasticsearch's terms aggregation writes it for the field's type: dates as epoch
 * millis and booleans as 1/0 (LongTerms, with key_as_string through the field's DocValueFormat), numbers as
 * numbers, everything else as the string term (StringTerms).
 */
function bucketKey(type: string | undefined, date: boolean, v: Json): {key: Json; key_as_string?: string} {
  if (date) {
    const ms = asDate(v)
    return {key: ms, key_as_string: new Date(ms).toISOString()}
  }
  if (type === 'boolean') {
    const b = v === true || v === 'true'
    return {key: b ? 1 : 0, key_as_string: String(b)}
  }
  if (type && NUMERIC_TYPES.has(type)) return {key: Number(v)}
  if (type === 'keyword' || type === 'ip' || type === 'constant_keyword') return {key: String(v)}
  return {key: v}
}

/** All leaf values at `path`, walking objects, arrays and dotted keys like `_source` fields do. */
export function sourceValues(source: Json, path: string): Json[] {
  const out: Json[] = []
  const walk = (node: Json, rest: string) => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n, rest)
      return
    }
    if (!isMap(node)) return
    for (const [k, v] of Object.entries(node)) {
      if (k === rest) {
        if (Array.isArray(v)) out.push(...v.flat(Infinity as 1))
        else out.push(v)
      } else if (rest.startsWith(`${k}.`)) {
        walk(v, rest.slice(k.length + 1))
      }
    }
  }
  walk(source, path)
  return out.filter((v) => v !== null && v !== undefined)
}

/** Where a query runs: the root document, or the objects of one `nested` path. */
export interface Scope {
  nested?: string
}
const ROOT: Scope = {}

/** The mapping entry of a field visible from `scope` (undefined: unmapped, or inside another nested object). */
function visibleEntry(doc: StoredDoc, field: string, scope: Scope): FieldEntry | undefined {
  const e = doc.mapping?.get(field)
  if (!e) return undefined
  return e.nestedIn === scope.nested ? e : undefined
}

/** The 400 a term-level query on a field that is neither indexed nor has doc values gets (MappedFieldType). */
function notSearchable(doc: StoredDoc, field: string): EsHttpError {
  const reason = `Cannot search on field [${field}] since it is not indexed nor has doc values.`
  return new EsHttpError(400, 'query_shard_exception', `failed to create query: ${reason}`, {index: doc.target, index_uuid: '_na_'}, {type: 'illegal_argument_exception', reason})
}

/** Values of a field for queries and aggregations: mapping constants and metadata first. */
export function fieldValues(doc: StoredDoc, field: string, scope: Scope = ROOT): Json[] {
  if (field === '_index') return [doc._index]
  if (field === '_id') return [doc._id]
  if (Object.prototype.hasOwnProperty.call(doc.constants, field)) {
    const c = doc.constants[field]
    return c === null ? [] : [c]
  }
  if (!doc.mapping) return sourceValues(doc._source, field).filter((v) => !isMap(v))
  const e = visibleEntry(doc, field, scope)
  if (!e || e.def.type === 'object' || e.def.type === 'nested') return []
  let vals = sourceValues(doc._source, e.sourcePath).filter((v) => !isMap(v))
  // keyword values longer than ignore_above are kept in _source only.
  const above = e.def.ignore_above
  if (above !== undefined) vals = vals.filter((v) => String(v).length <= above)
  return vals
}

/** Values for a term-level query: refuses unsearchable fields as Elasticsearch does. */
function searchValues(doc: StoredDoc, field: string, scope: Scope): Json[] {
  const e = doc.mapping && visibleEntry(doc, field, scope)
  if (e && !searchable(e.def) && e.def.type !== 'object' && e.def.type !== 'nested') throw notSearchable(doc, field)
  return fieldValues(doc, field, scope)
}

function fieldExists(doc: StoredDoc, field: string, scope: Scope): boolean {
  if (!doc.mapping) {
    if (fieldValues(doc, field).length > 0) return true
    const hasLeaf = (n: Json): boolean => (isMap(n) ? Object.values(n).some(hasLeaf) : Array.isArray(n) ? n.some(hasLeaf) : n !== null)
    return sourceValues(doc._source, field).some(hasLeaf)
  }
  if (Object.prototype.hasOwnProperty.call(doc.constants, field)) return fieldValues(doc, field).length > 0
  const e = doc.mapping.get(field)
  if (!e) return false
  if (e.def.type !== 'object' && e.def.type !== 'nested') {
    // Neither indexed nor doc values: nothing records that the field exists, so `exists` counts 0.
    if (e.nestedIn !== scope.nested || !searchable(e.def)) return false
    return fieldValues(doc, field, scope).length > 0
  }
  // An object exists when any of its mapped leaves visible from this scope does.
  const leaves = (node: Json, path: string): boolean => {
    if (Array.isArray(node)) return node.some((n) => leaves(n, path))
    if (isMap(node)) return Object.entries(node).some(([k, v]) => leaves(v, `${path}.${k}`))
    if (node === null || node === undefined) return false
    const le = doc.mapping!.get(path)
    if (!le || le.nestedIn !== scope.nested || !searchable(le.def)) return false
    return le.def.ignore_above === undefined || String(node).length <= le.def.ignore_above
  }
  return sourceValues(doc._source, field).some((n) => leaves(n, field))
}

/** Whether a field is analysed text in this document's mapping. */
function isText(doc: StoredDoc, field: string, scope: Scope): boolean {
  const e = doc.mapping && visibleEntry(doc, field, scope)
  return e ? analysed(e.def) : false
}

// ---------------------------------------------------------------------------------------------
// Date math

const UNIT_MS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, H: 3_600_000, d: 86_400_000, w: 604_800_000}

export function parseDateMath(v: unknown, now: number): number {
  if (typeof v === 'number') return v
  const s = String(v)
  const m = /^now((?:[+-]\d+[smhHdwMy])*)(?:\/([smhHdwMy]))?$/.exec(s)
  if (m) {
    let t = now
    for (const op of m[1].matchAll(/([+-])(\d+)([smhHdwMy])/g)) {
      const n = Number(op[2]) * (op[1] === '-' ? -1 : 1)
      if (op[3] === 'M') t = addMonths(t, n)
      else if (op[3] === 'y') t = addMonths(t, 12 * n)
      else t += n * UNIT_MS[op[3]]
    }
    if (m[2]) {
      const unit = UNIT_MS[m[2]] ?? UNIT_MS.d
      t = Math.floor(t / unit) * unit
    }
    return t
  }
  if (/^\d+$/.test(s)) return Number(s)
  const t = Date.parse(s)
  if (Number.isNaN(t)) throw new EsHttpError(400, 'parse_exception', `failed to parse date field [${s}] with format [strict_date_optional_time||epoch_millis]`)
  return t
}

function addMonths(t: number, n: number): number {
  const d = new Date(t)
  d.setUTCMonth(d.getUTCMonth() + n)
  return d.getTime()
}

const asDate = (v: Json): number => (typeof v === 'number' ? v : Date.parse(String(v)))

// ---------------------------------------------------------------------------------------------
// Queries

export type Query = Record<string, unknown>

const looselyEqual = (a: Json, b: unknown) => a === b || (typeof a !== 'object' && String(a) === String(b))

function fieldAndParams(body: unknown, name: string): [string, unknown] {
  if (!isMap(body as Json)) throw parsing(`[${name}] query malformed, no start_object after query name`)
  const entries = Object.entries(body as JsonMap).filter(([k]) => k !== 'boost' && k !== '_name')
  if (entries.length !== 1) throw parsing(`[${name}] query doesn't support multiple fields, found [${entries.map(([k]) => k).join('] and [')}]`)
  return entries[0]
}

export function matches(doc: StoredDoc, query: Query | undefined, now: number, scope: Scope = ROOT): boolean {
  if (!query || Object.keys(query).length === 0) return true
  const entries = Object.entries(query)
  if (entries.length !== 1) throw parsing('[_na] query malformed, must start with start_object')
  const [type, body] = entries[0]
  switch (type) {
    case 'match_all':
      return true
    case 'match_none':
      return false
    case 'bool': {
      const b = body as Record<string, unknown>
      const list = (k: string): Query[] => (b[k] === undefined ? [] : Array.isArray(b[k]) ? (b[k] as Query[]) : [b[k] as Query])
      const must = [...list('must'), ...list('filter')]
      if (!must.every((q) => matches(doc, q, now, scope))) return false
      if (list('must_not').some((q) => matches(doc, q, now, scope))) return false
      const should = list('should')
      if (should.length > 0) {
        const msm = b.minimum_should_match !== undefined ? Number(b.minimum_should_match) : must.length > 0 ? 0 : 1
        if (should.filter((q) => matches(doc, q, now, scope)).length < msm) return false
      }
      return true
    }
    case 'term': {
      const [field, p] = fieldAndParams(body, type)
      const value = isMap(p as Json) ? (p as JsonMap).value : p
      // A term on analysed text compares with the indexed tokens, not the whole value.
      if (isText(doc, field, scope)) return fieldValues(doc, field, scope).some((v) => tokens(String(v)).includes(String(value)))
      return searchValues(doc, field, scope).some((v) => looselyEqual(v, value))
    }
    case 'terms': {
      const [field, values] = fieldAndParams(body, type)
      if (!Array.isArray(values)) throw parsing('[terms] query does not support [' + field + ']')
      if (isText(doc, field, scope)) return fieldValues(doc, field, scope).some((v) => tokens(String(v)).some((t) => values.some((x) => String(x) === t)))
      return searchValues(doc, field, scope).some((v) => values.some((x) => looselyEqual(v, x)))
    }
    case 'ids': {
      const values = (body as {values?: string[]}).values ?? []
      return values.includes(doc._id)
    }
    case 'exists': {
      const field = (body as {field?: string}).field
      if (!field) throw parsing('[exists] must be provided with a [field]')
      return fieldExists(doc, field, scope)
    }
    case 'prefix': {
      const [field, p] = fieldAndParams(body, type)
      const value = String(isMap(p as Json) ? (p as JsonMap).value : p)
      return searchValues(doc, field, scope).some((v) => String(v).startsWith(value))
    }
    case 'wildcard': {
      const [field, p] = fieldAndParams(body, type)
      const value = String(isMap(p as Json) ? ((p as JsonMap).value ?? (p as JsonMap).wildcard) : p)
      const re = new RegExp(`^${value.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
      const names = field === '_index' ? [doc._index, doc.target] : searchValues(doc, field, scope)
      return names.some((v) => re.test(String(v)))
    }
    case 'match':
    case 'match_phrase': {
      const [field, p] = fieldAndParams(body, type)
      const value = String(isMap(p as Json) ? (p as JsonMap).query : p)
      const values = searchValues(doc, field, scope)
      if (!isText(doc, field, scope) && doc.mapping) {
        // keyword / numeric fields are not analysed: the query value must equal a whole value.
        return values.some((v) => looselyEqual(v, value))
      }
      const q = tokens(value)
      if (q.length === 0) return false
      return values.some((v) => {
        const t = tokens(String(v))
        if (type === 'match') return q.some((x) => t.includes(x))
        // Phrase: the query tokens at consecutive positions of one value.
        for (let i = 0; i + q.length <= t.length; i++) if (q.every((x, j) => t[i + j] === x)) return true
        return false
      })
    }
    case 'range': {
      const [field, p] = fieldAndParams(body, type)
      const r = p as Record<string, unknown>
      const values = searchValues(doc, field, scope)
      const bounds = ['gt', 'gte', 'lt', 'lte'].filter((k) => r[k] !== undefined && r[k] !== null)
      const dateLike = isDateField([doc], field) || bounds.some((k) => typeof r[k] === 'string' && /^now|^\d{4}-\d{2}-\d{2}/.test(String(r[k])))
      return values.some((v) => {
        const x = dateLike ? asDate(v) : Number(v)
        return bounds.every((k) => {
          const bound = dateLike ? parseDateMath(r[k], now) : Number(r[k])
          if (k === 'gt') return x > bound
          if (k === 'gte') return x >= bound
          if (k === 'lt') return x < bound
          return x <= bound
        })
      })
    }
    case 'nested': {
      const b = body as {path?: string; query?: Query; ignore_unmapped?: boolean}
      if (!b.path) throw parsing("[nested] requires 'path' field")
      const mapped = doc.mapping?.get(b.path)
      if (doc.mapping && mapped?.def.type !== 'nested') {
        // NestedQueryBuilder: the path must be mapped as nested; an unmapped one fails unless ignore_unmapped.
        if (!mapped && b.ignore_unmapped === true) return false
        const why = mapped ? `nested object under path [${b.path}] is not of nested type` : `failed to find nested object under path [${b.path}]`
        throw new EsHttpError(400, 'query_shard_exception', `failed to create query: [nested] ${why}`, {index: doc.target, index_uuid: '_na_'})
      }
      // Each nested object is matched on its own, with fields given by their full path.
      const items = sourceValues(doc._source, b.path).filter((v) => isMap(v)) as JsonMap[]
      return items.some((item) => {
        const prefixed = prefixSource(b.path!, item)
        return matches({...doc, _source: prefixed, constants: {}}, b.query, now, {nested: b.path})
      })
    }
    default:
      // AbstractQueryBuilder.parseInnerQueryBuilder's answer to a name it does not know.
      throw parsing(`unknown query [${type}]`)
  }
}

function prefixSource(path: string, item: JsonMap): JsonMap {
  return path.split('.').reduceRight<JsonMap>((acc, k) => ({[k]: acc}), item)
}

// ---------------------------------------------------------------------------------------------
// Sorting and hits

export type SortSpec = Array<{field: string; order: 'asc' | 'desc'; unmappedType?: string}>

export function parseSort(sort: unknown): SortSpec {
  if (sort === undefined) return []
  const list = Array.isArray(sort) ? sort : [sort]
  return list.map((s) => {
    if (typeof s === 'string') {
      const [field, order] = s.split(':')
      return {field, order: (order ?? (field === '_score' ? 'desc' : 'asc')) as 'asc' | 'desc'}
    }
    const [field, spec] = Object.entries(s as Record<string, unknown>)[0]
    if (typeof spec === 'string') return {field, order: spec as 'asc' | 'desc'}
    const o = spec as {order?: string; unmapped_type?: string}
    return {field, order: (o.order ?? 'asc') as 'asc' | 'desc', unmappedType: o.unmapped_type}
  })
}

function sortKey(doc: StoredDoc, field: string, order: 'asc' | 'desc'): number | string | null {
  if (field === '_doc') return doc._seq_no
  const vals = fieldValues(doc, field)
  if (vals.length === 0) return null
  const date = isDateField([doc], field)
  const conv = vals.map((v) => (date ? asDate(v) : v)) as Array<number | string>
  const sorted = [...conv].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return order === 'asc' ? sorted[0] : sorted[sorted.length - 1]
}

export function sortDocs(docs: StoredDoc[], spec: SortSpec): Array<{doc: StoredDoc; sort?: Array<number | string | null>}> {
  if (spec.length === 0) return docs.map((doc) => ({doc}))
  const keyed = docs.map((doc) => ({doc, sort: spec.map((s) => sortKey(doc, s.field, s.order))}))
  keyed.sort((a, b) => {
    for (let i = 0; i < spec.length; i++) {
      const x = a.sort[i]
      const y = b.sort[i]
      if (x === y) continue
      // Missing values sort last in both directions (`missing: _last`).
      if (x === null) return 1
      if (y === null) return -1
      const c = x < y ? -1 : 1
      return spec[i].order === 'asc' ? c : -c
    }
    return a.doc._seq_no - b.doc._seq_no
  })
  return keyed
}

/** `_source` filtering: true/false, a pattern or list of patterns, or {includes, excludes}. */
export function filterSource(source: JsonMap, spec: unknown): JsonMap | undefined {
  if (spec === undefined || spec === true) return source
  if (spec === false) return undefined
  let includes: string[] = []
  let excludes: string[] = []
  if (typeof spec === 'string') includes = [spec]
  else if (Array.isArray(spec)) includes = spec as string[]
  else if (isMap(spec as Json)) {
    const s = spec as {includes?: string | string[]; excludes?: string | string[]}
    includes = ([] as string[]).concat(s.includes ?? [])
    excludes = ([] as string[]).concat(s.excludes ?? [])
  }
  const toRe = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
  const inc = includes.map(toRe)
  const exc = excludes.map(toRe)
  const walk = (node: JsonMap, prefix: string): JsonMap | undefined => {
    const out: JsonMap = {}
    for (const [k, v] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${k}` : k
      if (exc.some((r) => r.test(path))) continue
      const included = inc.length === 0 || inc.some((r) => r.test(path))
      if (isMap(v)) {
        const sub = included ? walk(v, path) ?? {} : walk(v, path)
        if (sub && (included || Object.keys(sub).length > 0)) out[k] = sub
      } else if (included) {
        out[k] = v
      }
    }
    return Object.keys(out).length > 0 || prefix === '' ? out : undefined
  }
  return walk(source, '')
}

/** The queries of a search given a `_name`, in the order they appear, each as a query a document can be matched against. */
export type NamedQueries = Array<[string, Query]>

export function namedQueries(query: Query | undefined): NamedQueries {
  const out: NamedQueries = []
  const walk = (q: unknown, wrap: (x: Query) => Query) => {
    if (!isMap(q as Json)) return
    for (const [type, body] of Object.entries(q as Query)) {
      if (!isMap(body as Json)) continue
      const b = body as Record<string, unknown>
      // `_name` sits beside the query's parameters, or (field-level queries) inside the field's object.
      const name = b._name ?? Object.values(b).map((v) => (isMap(v as Json) ? (v as Record<string, unknown>)._name : undefined)).find((n) => n !== undefined)
      if (name !== undefined) out.push([String(name), wrap({[type]: body})])
      if (type === 'bool') for (const k of ['must', 'filter', 'should', 'must_not']) for (const c of ([] as unknown[]).concat(b[k] ?? [])) walk(c, wrap)
      // A named query inside `nested` matches a document through its nested objects.
      if (type === 'nested') walk(b.query, (x) => wrap({nested: {path: b.path, query: x}}))
    }
  }
  walk(query, (x) => x)
  return out
}

export function hitOf(doc: StoredDoc, sourceSpec: unknown, sort?: Array<number | string | null>, named: NamedQueries = [], now = 0): Record<string, unknown> {
  const src = filterSource(structuredClone(doc._source), sourceSpec)
  // MatchedQueriesPhase: the names of the named queries the hit matches (omitted when none, SearchHit.toXContent).
  const matched = named.filter(([, q]) => matches(doc, q, now)).map(([n]) => n)
  return {
    _index: doc._index,
    _id: doc._id,
    _score: sort ? null : 1.0,
    ...(src !== undefined ? {_source: src} : {}),
    ...(sort ? {sort} : {}),
    ...(matched.length > 0 ? {matched_queries: matched} : {}),
  }
}

// ---------------------------------------------------------------------------------------------
// Aggregations

const aggError = (reason: string) => new EsHttpError(400, 'illegal_argument_exception', reason)

function aggregateNormalised(docs: StoredDoc[], norm: Record<string, unknown>, now: number, named: NamedQueries = []): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(norm)) {
    const [type, params] = Object.entries(spec as Record<string, Record<string, unknown>>)[0]
    out[name] = runAgg(type, params, docs, now, name, named)
  }
  return out
}

function noAggOnText(field: string, type: string, docs: StoredDoc[]) {
  let entry: FieldEntry | undefined
  let mapped = false
  for (const d of docs) {
    if (!d.mapping) continue
    mapped = true
    entry = d.mapping.get(field)
    if (entry) break
  }
  if (!mapped ? isMatchOnlyText(field) : entry && analysed(entry.def)) {
    // MatchOnlyTextFieldMapper / TextFieldMapper: no doc values to aggregate (unverified wording).
    throw aggError(`Field [${field}] of type [${entry?.def.type ?? 'match_only_text'}] is not supported for aggregation [${type}]`)
  }
  if (entry && entry.def.type !== 'object' && entry.def.type !== 'nested' && !aggregatable(entry.def)) {
    // A keyword without doc values (ecs@mappings event.original) has no field data (ECS: index and doc_values false).
    throw aggError(`Can't load fielddata on [${field}] because fielddata is unsupported on fields of type [${entry.def.type}]. Use doc values instead.`)
  }
}

function runAgg(type: string, p: Record<string, unknown>, docs: StoredDoc[], now: number, name: string, named: NamedQueries): Record<string, unknown> {
  const {__meta: meta, ...parent} = p as Record<string, unknown>
  const result = runAggBody(type, parent, docs, now, name, named)
  // InternalAggregation.toXContent: the request's `meta` object is echoed first in the aggregation's result.
  return meta !== undefined ? {meta, ...result} : result
}

// ValuesSourceConfig.resolve: a values-source aggregation needs a field or a script (the lab takes no script).
function requireField(parent: Record<string, unknown>): string {
  if (parent.field === undefined) throw aggError('Required one of fields [field, script], but none were specified. ')
  return String(parent.field)
}

/** BucketOrder of a terms aggregation: `{key: dir}` or a list of them; the default is _count desc then _key asc. */
function termsOrder(raw: unknown): Array<{by: '_key' | '_count'; desc: boolean}> {
  const list = raw === undefined ? [{_count: 'desc'}] : Array.isArray(raw) ? raw : [raw]
  const out = list.flatMap((o) =>
    Object.entries(o as Record<string, unknown>).map(([k, dir]) => {
      if (dir !== 'asc' && dir !== 'desc') throw aggError(`Unknown order direction [${String(dir)}]`)
      // _term is the pre-6.0 name of _key (InternalOrder.parseOrderParam).
      if (k === '_key' || k === '_term') return {by: '_key' as const, desc: dir === 'desc'}
      if (k === '_count') return {by: '_count' as const, desc: dir === 'desc'}
      // Ordering by a sub-aggregation's value is valid in Elasticsearch; the lab does not implement it.
      throw aggError(`the lab does not implement ordering terms buckets by [${k}] (only _key and _count)`)
    }),
  )
  // InternalOrder.CompoundOrder: a tie on the given criteria is broken by _key asc.
  if (!out.some((o) => o.by === '_key')) out.push({by: '_key', desc: false})
  return out
}

function compareKeys(a: Json, b: Json): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  const x = String(a)
  const y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

function runAggBody(type: string, parent: Record<string, unknown>, docs: StoredDoc[], now: number, name: string, named: NamedQueries): Record<string, unknown> {
  switch (type) {
    case 'terms': {
      const field = requireField(parent)
      noAggOnText(field, 'terms', docs)
      const size = parent.size === undefined ? 10 : Number(parent.size)
      const ftype = mappedType(docs, field)
      const date = isDateField(docs, field)
      const counts = new Map<string, {key: Json; key_as_string?: string; docs: StoredDoc[]}>()
      for (const d of docs) {
        let vals = [...new Set(fieldValues(d, field).map((v) => JSON.stringify(bucketKey(ftype, date, v))))]
        if (vals.length === 0 && parent.missing !== undefined) vals = [JSON.stringify(bucketKey(ftype, date, parent.missing as Json))]
        for (const v of vals) {
          const e = counts.get(v) ?? {...(JSON.parse(v) as {key: Json; key_as_string?: string}), docs: []}
          e.docs.push(d)
          counts.set(v, e)
        }
      }
      const order = termsOrder(parent.order)
      const entries = [...counts.values()].sort((a, b) => {
        for (const o of order) {
          const c = o.by === '_count' ? a.docs.length - b.docs.length : compareKeys(a.key, b.key)
          if (c !== 0) return o.desc ? -c : c
        }
        return 0
      })
      const subAggs = (parent.__sub as Record<string, unknown>) ?? undefined
      const buckets = entries.slice(0, size).map((e) => ({
        key: e.key,
        ...(e.key_as_string !== undefined ? {key_as_string: e.key_as_string} : {}),
        doc_count: e.docs.length,
        ...(subAggs ? aggregateNormalised(e.docs, subAggs, now, named) : {}),
      }))
      const other = entries.slice(size).reduce((n, e) => n + e.docs.length, 0)
      return {doc_count_error_upper_bound: 0, sum_other_doc_count: other, buckets}
    }
    case 'max':
    case 'min': {
      const field = requireField(parent)
      const date = isDateField(docs, field)
      const vals = docs.flatMap((d) => fieldValues(d, field)).map((v) => (date ? asDate(v) : Number(v))).filter((v) => !Number.isNaN(v))
      if (vals.length === 0) return {value: null}
      const v = type === 'max' ? Math.max(...vals) : Math.min(...vals)
      return date ? {value: v, value_as_string: new Date(v).toISOString()} : {value: v}
    }
    case 'value_count': {
      const field = requireField(parent)
      noAggOnText(field, 'value_count', docs)
      return {value: docs.reduce((n, d) => n + fieldValues(d, field).length, 0)}
    }
    case 'cardinality': {
      const field = requireField(parent)
      noAggOnText(field, 'cardinality', docs)
      return {value: new Set(docs.flatMap((d) => fieldValues(d, field).map((v) => JSON.stringify(v)))).size}
    }
    case 'filter': {
      const {__sub: subAggs, ...query} = parent as Record<string, unknown> & {__sub?: Record<string, unknown>}
      const matched = docs.filter((d) => matches(d, query as Query, now))
      return {doc_count: matched.length, ...(subAggs ? aggregateNormalised(matched, subAggs, now, named) : {})}
    }
    case 'filters': {
      const filters = parent.filters
      const subAggs = parent.__sub as Record<string, unknown> | undefined
      const one = (q: Query) => {
        const matched = docs.filter((d) => matches(d, q, now))
        return {doc_count: matched.length, ...(subAggs ? aggregateNormalised(matched, subAggs, now, named) : {})}
      }
      if (Array.isArray(filters)) return {buckets: filters.map((q) => one(q as Query))}
      if (!isMap(filters as Json)) throw parsing(`[filters] aggregation [${name}] requires [filters]`)
      return {buckets: Object.fromEntries(Object.entries(filters as Record<string, Query>).map(([k, q]) => [k, one(q)]))}
    }
    case 'top_hits': {
      const size = parent.size === undefined ? 3 : Number(parent.size)
      const sorted = sortDocs(docs, parseSort(parent.sort))
      const hits = sorted.slice(0, size).map((h) => hitOf(h.doc, parent._source, h.sort, named, now))
      return {hits: {total: {value: docs.length, relation: 'eq'}, max_score: parent.sort ? null : 1.0, hits}}
    }
    default:
      // AggregatorFactories.parseAggregators' answer to a type it does not know.
      throw parsing(`Unknown aggregation type [${type}]`)
  }
}

/** Moves each aggregation's sub-aggregations under its parameters so runAgg can reach them. */
export function normaliseAggs(aggs: unknown): Record<string, unknown> | undefined {
  if (!isMap(aggs as Json)) return undefined
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(aggs as Record<string, Record<string, unknown>>)) {
    const sub = spec.aggs ?? spec.aggregations
    const types = Object.keys(spec).filter((k) => k !== 'aggs' && k !== 'aggregations' && k !== 'meta')
    if (types.length !== 1) throw parsing(`Expected one aggregation type for [${name}], found ${types.length}`)
    const type = types[0]
    if (sub && !['terms', 'filter', 'filters'].includes(type)) throw aggError(`Aggregator [${name}] of type [${type}] cannot accept sub-aggregations`)
    const params = {...(spec[type] as Record<string, unknown>)}
    if (sub) params.__sub = normaliseAggs(sub)
    if (spec.meta !== undefined) params.__meta = spec.meta
    out[name] = {[type]: params}
  }
  return out
}

export function runAggregations(docs: StoredDoc[], aggs: unknown, now: number, query?: Query): Record<string, unknown> | undefined {
  const norm = normaliseAggs(aggs)
  return norm ? aggregateNormalised(docs, norm, now, namedQueries(query)) : undefined
}
