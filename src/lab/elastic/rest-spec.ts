// The lab's REST front door, built from Elasticsearch's own REST API specification (the JSON files of
// rest-api-spec/src/main/resources/rest-api-spec/api, copied into fixtures/elastic/rest-api-spec with their
// provenance). A request is routed the way RestController does it, then its URL parameters are checked the way
// BaseRestHandler does it: anything the lab does not serve or does not honour is refused with the error body a
// real server gives for an unknown route or parameter, never silently ignored. Only the lab imports this file.

import {readFileSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {EsHttpError} from './query.js'

const SPEC_DIR = fileURLToPath(new URL('../../../fixtures/elastic/rest-api-spec/', import.meta.url))

interface SpecPath {
  path: string
  methods: string[]
  segments: Array<{literal: string} | {part: string}>
}

export interface RestApiSpec {
  name: string
  paths: SpecPath[]
  params: Set<string>
  /** none: the API takes no body; optional / required as the spec's `body.required` says. */
  body: 'none' | 'optional' | 'required'
}

/** Parameters every API accepts (_common.json). */
export const COMMON_PARAMS: readonly string[] = Object.keys(
  (JSON.parse(readFileSync(`${SPEC_DIR}_common.json`, 'utf8')) as {params: Record<string, unknown>}).params,
)

let cache: Map<string, RestApiSpec> | undefined

/** Every API spec in fixtures/elastic/rest-api-spec, by API name (`search`, `indices.get_mapping`, …). */
export function restApiSpecs(): Map<string, RestApiSpec> {
  if (cache) return cache
  const out = new Map<string, RestApiSpec>()
  for (const file of readdirSync(SPEC_DIR).filter((f) => f.endsWith('.json') && !f.startsWith('_')).sort()) {
    const json = JSON.parse(readFileSync(`${SPEC_DIR}${file}`, 'utf8')) as Record<string, {
      url: {paths: Array<{path: string; methods: string[]}>}
      params?: Record<string, unknown>
      body?: {required?: boolean}
    }>
    for (const [name, api] of Object.entries(json)) {
      out.set(name, {
        name,
        paths: api.url.paths.map((p) => ({
          path: p.path,
          methods: p.methods,
          segments: p.path.split('/').filter(Boolean).map((s) => (/^\{.+\}$/.test(s) ? {part: s.slice(1, -1)} : {literal: s})),
        })),
        params: new Set(Object.keys(api.params ?? {})),
        body: api.body === undefined ? 'none' : api.body.required ? 'required' : 'optional',
      })
    }
  }
  cache = out
  return out
}

/** An answer that is not the usual `{error: {...}, status}` shape (RestController's own responses). */
export class RawEsResponse extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'object' && body && 'error' in body ? String((body as {error: unknown}).error) : 'error')
  }
}

/** What the lab honours of one API: the spec's parameters it implements (or that mean nothing on one in-memory node). */
export interface ServedApi {
  params: readonly string[]
}

export interface RouteMatch {
  api: string
  parts: Record<string, string>
  /** The request body: the HTTP body, or the `source` parameter (common options). */
  body: Buffer
}

/** Lucene LevenshteinDistance.getDistance: 1 - edits / longer length (what the suggestions score with). */
export function similarity(a: string, b: string): number {
  if (a.length === 0 && b.length === 0) return 1
  const prev = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return 1 - prev[b.length] / Math.max(a.length, b.length)
}

/** The candidates scoring above 0.5, best first then by name (BaseRestHandler / SuggestingErrorOnUnknown). */
export function suggestions(unknown: string, candidates: Iterable<string>): string[] {
  const scored = [...new Set(candidates)].map((c) => [similarity(unknown, c), c] as const).filter(([s]) => s > 0.5)
  scored.sort((x, y) => (x[0] !== y[0] ? y[0] - x[0] : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))
  return scored.map(([, c]) => c)
}

/** " did you mean [x]?" / " did you mean any of [x, y]?" or "" (SuggestingErrorOnUnknown.suggest). */
export function didYouMean(unknown: string, candidates: Iterable<string>): string {
  const keys = suggestions(unknown, candidates)
  if (keys.length === 0) return ''
  return keys.length === 1 ? ` did you mean [${keys[0]}]?` : ` did you mean any of [${keys.join(', ')}]?`
}

/** BaseRestHandler.unrecognized: "request [path] contains unrecognized parameter(s): [a] -> did you mean [b]?, [c]". */
export function unrecognizedParams(path: string, invalid: string[], candidates: Iterable<string>): string {
  const sorted = [...new Set(invalid)].sort()
  const list = [...candidates]
  const items = sorted.map((name) => {
    const keys = suggestions(name, list)
    if (keys.length === 0) return `[${name}]`
    return `[${name}] -> did you mean ${keys.length === 1 ? `[${keys[0]}]` : `any of [${keys.join(', ')}]`}?`
  })
  return `request [${path}] contains unrecognized parameter${sorted.length > 1 ? 's' : ''}: ${items.join(', ')}`
}

/**
 * Routes requests onto the APIs the lab serves. Matching follows RestController / PathTrie: literal path segments
 * win over `{part}` placeholders; among the paths that match, the first one registered for the method handles the
 * request; if some match but none for this method the answer is 405 with `Allow`, if none match it is 400
 * "no handler found". Then, like BaseRestHandler, every URL parameter the handler did not consume is refused.
 */
interface Route {
  api: string
  path: SpecPath
  params: Set<string>
  body: RestApiSpec['body']
}

export class RestSpecRouter {
  private readonly routes: Route[] = []

  constructor(served: Record<string, ServedApi>) {
    const specs = restApiSpecs()
    for (const [name, s] of Object.entries(served)) {
      const spec = specs.get(name)
      if (!spec) throw new Error(`no REST API spec for ${name} in fixtures/elastic/rest-api-spec`)
      for (const p of s.params) if (!spec.params.has(p)) throw new Error(`${name}: [${p}] is not a parameter of the REST API spec`)
      for (const path of spec.paths) this.routes.push({api: name, path, params: new Set(s.params), body: spec.body})
    }
  }

  match(method: string, rawPath: string, uri: string, query: URLSearchParams, httpBody: Buffer): RouteMatch {
    const segs = rawPath.split('/').filter(Boolean)
    const candidates: Array<{route: Route; parts: Record<string, string>; rank: number[]}> = []
    for (const route of this.routes) {
      if (route.path.segments.length !== segs.length) continue
      const parts: Record<string, string> = {}
      const rank: number[] = []
      let ok = true
      for (let i = 0; i < segs.length && ok; i++) {
        const s = route.path.segments[i]
        if ('literal' in s) {
          ok = s.literal === segs[i]
          rank.push(0)
        } else {
          // A placeholder matches any segment; RestController decodes it.
          try {
            parts[s.part] = decodeURIComponent(segs[i])
          } catch {
            ok = false
          }
          rank.push(1)
        }
      }
      if (ok) candidates.push({route, parts, rank})
    }
    candidates.sort((a, b) => {
      for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i]
      return 0
    })
    const chosen = candidates.find((c) => c.route.path.methods.includes(method))
    if (!chosen) {
      const allowed = [...new Set(candidates.flatMap((c) => c.route.path.methods))].sort()
      if (allowed.length > 0) {
        // RestController.handleUnsupportedHttpMethod: RestResponse.createSimpleErrorResponse + Allow header.
        throw new RawEsResponse(405, {error: `Incorrect HTTP method for uri [${uri}] and method [${method}], allowed: [${allowed.join(', ')}]`, status: 405}, {
          allow: allowed.join(','),
        })
      }
      // RestController.handleBadRequest: a bare {"error": "..."} object, no status field.
      throw new RawEsResponse(400, {error: `no handler found for uri [${uri}] and method [${method}]`})
    }
    const {route} = chosen
    const consumed = new Set([...route.params, ...COMMON_PARAMS])
    const invalid = [...new Set(query.keys())].filter((k) => !consumed.has(k) && !(k in chosen.parts))
    if (invalid.length > 0) throw new EsHttpError(400, 'illegal_argument_exception', unrecognizedParams(rawPath, invalid, consumed))
    let body = httpBody
    const source = query.get('source')
    if (body.length === 0 && source !== null) {
      // RestRequest.contentOrSourceParam: the `source` parameter needs its media type.
      if (!query.get('source_content_type')) throw new EsHttpError(400, 'illegal_state_exception', 'source and source_content_type parameters are required')
      body = Buffer.from(source, 'utf8')
    }
    if (body.length > 0 && route.body === 'none') {
      throw new EsHttpError(400, 'illegal_argument_exception', `request [${method} ${rawPath}] does not support having a body`)
    }
    if (body.length === 0 && route.body === 'required') throw new EsHttpError(400, 'parse_exception', 'request body is required')
    return {api: route.api, parts: chosen.parts, body}
  }
}

// ---------------------------------------------------------------------------------------------
// Common response options (common-options.html): filter_path and pretty.

/**
 * `filter_path`: comma-separated dotted paths, `*` inside a name, `**` for any depth, `-` to exclude
 * (FilterPath / FilterPathBasedFilter). Arrays are transparent; what remains empty is dropped.
 */
export function applyFilterPath(value: unknown, filterPath: string | null): unknown {
  if (!filterPath) return value
  const filters = filterPath.split(',').map((f) => f.trim()).filter(Boolean)
  const includes = filters.filter((f) => !f.startsWith('-')).map((f) => f.split('.'))
  const excludes = filters.filter((f) => f.startsWith('-')).map((f) => f.slice(1).split('.'))
  let out = value
  if (includes.length > 0) out = filterNode(out, includes, true) ?? {}
  if (excludes.length > 0) out = filterNode(out, excludes, false) ?? {}
  return out
}

const nameMatches = (pattern: string, name: string) =>
  pattern === '*' || new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name)

/** Keeps (include) or drops (exclude) what the path lists select; undefined = nothing left. */
function filterNode(node: unknown, paths: string[][], include: boolean): unknown {
  if (Array.isArray(node)) {
    const kept = node.map((n) => filterNode(n, paths, include)).filter((n) => n !== undefined)
    return include && kept.length === 0 ? undefined : kept
  }
  if (node === null || typeof node !== 'object') return include ? undefined : node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    const rest: string[][] = []
    let whole = false
    for (const p of paths) {
      if (p[0] === '**') {
        // `**` matches zero or more levels.
        if (p.length === 1) whole = true
        else {
          rest.push(p)
          if (nameMatches(p[1], k)) (p.length === 2 ? (whole = true) : rest.push(p.slice(2)))
        }
      } else if (nameMatches(p[0], k)) {
        if (p.length === 1) whole = true
        else rest.push(p.slice(1))
      }
    }
    if (include) {
      if (whole) out[k] = v
      else if (rest.length > 0) {
        const sub = filterNode(v, rest, true)
        if (sub !== undefined) out[k] = sub
      }
    } else if (!whole) {
      out[k] = rest.length > 0 ? filterNode(v, rest, false) : v
    }
  }
  return include && Object.keys(out).length === 0 ? undefined : out
}

/** Jackson's default pretty printer (what `?pretty` renders): `"key" : value`, two-space indent, `[ ]` / `{ }`. */
export function prettyJson(value: unknown, indent = ''): string {
  const next = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]'
    return `[ ${value.map((v) => prettyJson(v, indent)).join(', ')} ]`
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return '{ }'
    return `{\n${entries.map(([k, v]) => `${next}${JSON.stringify(k)} : ${prettyJson(v, next)}`).join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value) ?? 'null'
}
