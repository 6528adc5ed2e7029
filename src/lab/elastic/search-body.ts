// Parses a search / count body the way Elasticsearch does before running anything: every key of the body, of each
// query and of each aggregation must be one the parser knows, else the request fails with the parser's own error
// (SearchSourceBuilder.parseXContent, RestActions.getQueryContent, AbstractQueryBuilder.parseInnerQueryBuilder,
// AggregatorFactories.parseAggregators, ObjectParser). What the lab does not implement is refused as Elasticsearch
// refuses an unknown name, so a request the lab cannot answer faithfully never passes silently. Only the lab
// imports this file.

import {didYouMean} from './rest-spec.js'
import {AGGREGATION_TYPES, EsHttpError, QUERY_TYPES} from './query.js'

type Json = unknown
const isObj = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Where `"key"` (or the value after it) first appears in the raw body, as Jackson's 1-based line:col. */
export function locate(raw: string, key: string, at: 'key' | 'value'): {line: number; col: number} {
  const re = new RegExp(`"${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"(\\s*:\\s*)`)
  const m = re.exec(raw)
  let pos = 0
  if (m) pos = at === 'key' ? m.index : m.index + m[0].length
  const before = raw.slice(0, pos)
  const line = before.split('\n').length
  return {line, col: pos - before.lastIndexOf('\n')}
}

/** Jackson's token name for a value, as ParsingException messages print it. */
function tokenOf(v: Json): string {
  if (Array.isArray(v)) return 'START_ARRAY'
  if (isObj(v)) return 'START_OBJECT'
  if (typeof v === 'string') return 'VALUE_STRING'
  if (typeof v === 'number') return 'VALUE_NUMBER'
  if (typeof v === 'boolean') return 'VALUE_BOOLEAN'
  return 'VALUE_NULL'
}

/** Top-level search body keys the lab implements (SearchSourceBuilder field names). */
const SEARCH_KEYS = ['query', 'aggs', 'aggregations', 'size', 'from', 'sort', '_source', 'track_total_hits', 'timeout']

/** Per query type: the keys of its object form the lab honours (boost and _name are accepted by every query). */
const QUERY_PARAMS: Record<string, string[]> = {
  term: ['value'],
  prefix: ['value'],
  wildcard: ['value', 'wildcard'],
  match: ['query'],
  match_phrase: ['query'],
  range: ['gt', 'gte', 'lt', 'lte'],
}

/** Per aggregation type: the parameters the lab honours (ObjectParser fields of the builder). */
const AGG_PARAMS: Record<string, string[]> = {
  terms: ['field', 'size', 'missing', 'order'],
  max: ['field'],
  min: ['field'],
  value_count: ['field'],
  // precision_threshold only trades memory for accuracy; the lab counts exactly.
  cardinality: ['field', 'precision_threshold'],
  filters: ['filters'],
  top_hits: ['size', 'sort', '_source'],
}

export class SearchBodyParser {
  constructor(private readonly raw: string) {}

  private parsingAt(reason: string, key: string, at: 'key' | 'value', causedBy?: {type: string; reason: string}) {
    const {line, col} = locate(this.raw, key, at)
    return new EsHttpError(400, 'parsing_exception', reason, {line, col}, causedBy)
  }

  private unknownField(parser: string, key: string, candidates: string[]) {
    // ObjectParser: XContentParseException "[line:col] [parser] unknown field [key]".
    const {line, col} = locate(this.raw, key, 'key')
    return new EsHttpError(400, 'x_content_parse_exception', `[${line}:${col}] [${parser}] unknown field [${key}]${didYouMean(key, candidates)}`)
  }

  search(body: Json): void {
    if (body === undefined) return
    if (!isObj(body)) throw new EsHttpError(400, 'parsing_exception', 'Expected [START_OBJECT] but found [' + tokenOf(body) + ']', {line: 1, col: 1})
    for (const [k, v] of Object.entries(body)) {
      if (!SEARCH_KEYS.includes(k)) throw this.parsingAt(`Unknown key for a ${tokenOf(v)} in [${k}].`, k, 'value')
    }
    if (body.query !== undefined) this.query(body.query)
    for (const k of ['aggs', 'aggregations']) if (body[k] !== undefined) this.aggs(body[k])
  }

  /** RestActions.getQueryContent: a count body holds `query` and nothing else. */
  count(body: Json): void {
    if (body === undefined) return
    if (!isObj(body)) throw new EsHttpError(400, 'parsing_exception', 'Expected [START_OBJECT] but found [' + tokenOf(body) + ']', {line: 1, col: 1})
    for (const k of Object.keys(body)) if (k !== 'query') throw this.parsingAt(`request does not support [${k}]`, k, 'key')
    if (body.query !== undefined) this.query(body.query)
  }

  query(q: Json): void {
    if (!isObj(q)) throw new EsHttpError(400, 'parsing_exception', `[_na] query malformed, must start with start_object`, {line: 1, col: 1})
    for (const [type, params] of Object.entries(q)) {
      if (!QUERY_TYPES.includes(type)) {
        const {line, col} = locate(this.raw, type, 'value')
        throw this.parsingAt(`unknown query [${type}]${didYouMean(type, QUERY_TYPES)}`, type, 'value', {
          type: 'named_object_not_found_exception',
          reason: `[${line}:${col}] unknown field [${type}]`,
        })
      }
      if (type === 'bool' && isObj(params)) {
        for (const [k, v] of Object.entries(params)) {
          if (['must', 'filter', 'should', 'must_not'].includes(k)) for (const sub of Array.isArray(v) ? v : [v]) this.query(sub)
          else if (!['minimum_should_match', 'boost', '_name'].includes(k)) throw this.parsingAt(`[bool] query does not support [${k}]`, k, 'key')
        }
      } else if (type === 'nested' && isObj(params)) {
        for (const k of Object.keys(params)) if (!['path', 'query', 'ignore_unmapped', 'boost', '_name'].includes(k)) throw this.parsingAt(`[nested] query does not support [${k}]`, k, 'key')
        if (params.query !== undefined) this.query(params.query)
      } else if (type === 'exists' && isObj(params)) {
        for (const k of Object.keys(params)) if (!['field', 'boost', '_name'].includes(k)) throw this.parsingAt(`[exists] query does not support [${k}]`, k, 'key')
      } else if (QUERY_PARAMS[type] && isObj(params)) {
        for (const [field, v] of Object.entries(params)) {
          if (field === 'boost' || field === '_name' || !isObj(v)) continue
          for (const k of Object.keys(v)) {
            if (![...QUERY_PARAMS[type], 'boost', '_name'].includes(k)) throw this.parsingAt(`[${type}] query does not support [${k}]`, k, 'key')
          }
        }
      }
    }
  }

  aggs(aggs: Json): void {
    if (!isObj(aggs)) return
    for (const [name, spec] of Object.entries(aggs)) {
      if (!isObj(spec)) continue
      for (const [type, params] of Object.entries(spec)) {
        if (type === 'aggs' || type === 'aggregations') {
          this.aggs(params)
          continue
        }
        if (type === 'meta') continue
        if (!AGGREGATION_TYPES.includes(type)) {
          const {line, col} = locate(this.raw, type, 'value')
          throw this.parsingAt(`Unknown aggregation type [${type}]${didYouMean(type, AGGREGATION_TYPES)}`, type, 'value', {
            type: 'named_object_not_found_exception',
            reason: `[${line}:${col}] unknown field [${type}]`,
          })
        }
        if (type === 'filter') {
          this.query(params)
          continue
        }
        if (!isObj(params)) continue
        const allowed = AGG_PARAMS[type] ?? []
        for (const k of Object.keys(params)) if (!allowed.includes(k)) throw this.unknownField(type, k, allowed)
        if (type === 'filters') {
          const f = params.filters
          for (const q of Array.isArray(f) ? f : isObj(f) ? Object.values(f) : []) this.query(q)
        }
      }
    }
  }
}
