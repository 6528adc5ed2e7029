import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import YAML from 'yaml'

// The API server's OpenAPI documents for the resources the lab serves: /openapi/v3 (index + one document per
// group/version, kube-openapi handler3) and /openapi/v2 (JSON, or the gnostic protobuf kubectl asks for).
// The v3 documents are upstream's, cut to the lab's resources (fixtures/kubernetes-openapi/SOURCES); v2 is
// derived from them the way kube-openapi renders both from one model ($ref under #/definitions/, no allOf wrapper).

const DIR = new URL('../../../fixtures/kubernetes-openapi/', import.meta.url)
const FILES: Record<string, string> = {
  'api/v1': 'api__v1_openapi.json',
  'apis/apps/v1': 'apis__apps__v1_openapi.json',
  'apis/discovery.k8s.io/v1': 'apis__discovery.k8s.io__v1_openapi.json',
}

/** kubectl's Accept for /openapi/v2 (client-go discovery OpenAPISchema, mimePb). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'

type Json = any

interface Loaded {
  v3: Map<string, {text: string; hash: string; doc: Json}>
  schemas: Record<string, Json>
  v2?: Json
  v2pb?: Buffer
}

let loaded: Loaded | undefined

function load(): Loaded {
  if (loaded) return loaded
  const v3 = new Map<string, {text: string; hash: string; doc: Json}>()
  const schemas: Record<string, Json> = {}
  for (const [gv, file] of Object.entries(FILES)) {
    const text = readFileSync(fileURLToPath(new URL(file, DIR)), 'utf8')
    const doc = JSON.parse(text)
    // handler3: the hash in serverRelativeURL is the document's SHA-512, upper-case hex.
    v3.set(gv, {text, doc, hash: createHash('sha512').update(text).digest('hex').toUpperCase()})
    Object.assign(schemas, doc.components.schemas)
  }
  loaded = {v3, schemas}
  return loaded
}

/** Schemas by name (io.k8s.api.core.v1.Pod …), for strict decoding. */
export function schemas(): Record<string, Json> {
  return load().schemas
}

/** The schema name of a kind (by its x-kubernetes-group-version-kind), if the lab has its OpenAPI. */
export function schemaOf(group: string, version: string, kind: string): string | undefined {
  for (const [name, s] of Object.entries(load().schemas)) {
    if ((s['x-kubernetes-group-version-kind'] ?? []).some((g: Json) => g.group === group && g.version === version && g.kind === kind)) return name
  }
  return undefined
}

function toV2(v: Json): Json {
  if (Array.isArray(v)) return v.map(toV2)
  if (!v || typeof v !== 'object') return v
  const out: Json = {}
  let src = v
  // v3 wraps a $ref with siblings in allOf; v2 puts $ref next to description and has no default on a ref.
  if (Array.isArray(v.allOf) && v.allOf.length === 1 && v.allOf[0].$ref) {
    const {allOf, default: _d, ...rest} = v
    src = {$ref: allOf[0].$ref, ...rest}
  }
  for (const [k, x] of Object.entries(src)) {
    out[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/components/schemas/', '#/definitions/') : toV2(x)
  }
  return out
}

/** A v3 parameter in v2 form: the schema's type/format/uniqueItems move up next to name and in. */
function paramV2(p: Json): Json {
  const {schema, ...rest} = p
  return {...rest, ...(schema?.type ? {type: schema.type} : {}), ...(schema?.format ? {format: schema.format} : {}), ...(schema?.uniqueItems ? {uniqueItems: true} : {})}
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** A v3 operation in v2 form: requestBody becomes the `body` parameter, content types become consumes/produces. */
function operationV2(op: Json): Json {
  const {requestBody, responses, parameters, ...rest} = op
  const params = (parameters ?? []).map(paramV2)
  const consumes = requestBody ? Object.keys(requestBody.content ?? {}) : undefined
  if (requestBody) {
    const schema = Object.values(requestBody.content ?? {})[0] as Json
    params.push({in: 'body', name: 'body', required: Boolean(requestBody.required), schema: toV2(schema?.schema ?? {})})
  }
  const produces = new Set<string>()
  const res: Json = {}
  for (const [code, r] of Object.entries(responses ?? {}) as Array<[string, Json]>) {
    const content = Object.entries(r.content ?? {}) as Array<[string, Json]>
    content.forEach(([t]) => produces.add(t))
    res[code] = {description: r.description, ...(content[0]?.[1]?.schema ? {schema: toV2(content[0][1].schema)} : {})}
  }
  return {...rest, ...(consumes ? {consumes} : {}), ...(produces.size ? {produces: [...produces]} : {}), ...(params.length ? {parameters: params} : {}), responses: res}
}

function v2(): Json {
  const l = load()
  if (l.v2) return l.v2
  const paths: Json = {}
  for (const {doc} of l.v3.values()) {
    for (const [path, item] of Object.entries(doc.paths) as Array<[string, Json]>) {
      const out: Json = {}
      for (const m of METHODS) if (item[m]) out[m] = operationV2(item[m])
      if (item.parameters) out.parameters = item.parameters.map(paramV2)
      paths[path] = out
    }
  }
  l.v2 = {swagger: '2.0', info: {title: 'Kubernetes', version: 'unversioned'}, paths, definitions: toV2(l.schemas)}
  return l.v2
}

// ---- protobuf (gnostic openapi.v2.Document, field numbers from google/gnostic-models openapiv2/OpenAPIv2.proto) ----

function varint(n: number | bigint): Buffer {
  let v = BigInt(n)
  if (v < 0n) v += 1n << 64n
  const out: number[] = []
  while (v > 127n) {
    out.push(Number(v & 127n) | 128)
    v >>= 7n
  }
  out.push(Number(v))
  return Buffer.from(out)
}
const tag = (field: number, wire: number) => varint((field << 3) | wire)
const bytesField = (field: number, b: Buffer) => Buffer.concat([tag(field, 2), varint(b.length), b])
const strField = (field: number, s: string) => bytesField(field, Buffer.from(s, 'utf8'))
const boolField = (field: number, b: boolean) => Buffer.concat([tag(field, 0), varint(b ? 1 : 0)])
const intField = (field: number, n: number) => Buffer.concat([tag(field, 0), varint(n)])
function doubleField(field: number, n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(n)
  return Buffer.concat([tag(field, 1), b])
}
/** openapi.v2.Any: the value as YAML (field 2), which kube-openapi parses back. */
const anyMsg = (v: unknown) => strField(2, YAML.stringify(v).replace(/\n$/, ''))
const namedAny = (name: string, v: unknown) => Buffer.concat([strField(1, name), bytesField(2, anyMsg(v))])

function schemaMsg(s: Json): Buffer {
  const parts: Buffer[] = []
  if (s.$ref) parts.push(strField(1, s.$ref))
  if (s.format) parts.push(strField(2, s.format))
  if (s.title) parts.push(strField(3, s.title))
  if (s.description) parts.push(strField(4, s.description))
  if (s.default !== undefined) parts.push(bytesField(5, anyMsg(s.default)))
  if (typeof s.maximum === 'number') parts.push(doubleField(7, s.maximum))
  if (s.exclusiveMaximum) parts.push(boolField(8, true))
  if (typeof s.minimum === 'number') parts.push(doubleField(9, s.minimum))
  if (s.exclusiveMinimum) parts.push(boolField(10, true))
  if (typeof s.maxLength === 'number') parts.push(intField(11, s.maxLength))
  if (typeof s.minLength === 'number') parts.push(intField(12, s.minLength))
  if (s.pattern) parts.push(strField(13, s.pattern))
  if (typeof s.maxItems === 'number') parts.push(intField(14, s.maxItems))
  if (typeof s.minItems === 'number') parts.push(intField(15, s.minItems))
  if (s.uniqueItems) parts.push(boolField(16, true))
  for (const r of s.required ?? []) parts.push(strField(19, r))
  for (const e of s.enum ?? []) parts.push(bytesField(20, anyMsg(e)))
  if (s.additionalProperties !== undefined) {
    parts.push(bytesField(21, typeof s.additionalProperties === 'boolean' ? boolField(2, s.additionalProperties) : bytesField(1, schemaMsg(s.additionalProperties))))
  }
  if (s.type) parts.push(bytesField(22, Buffer.concat((Array.isArray(s.type) ? s.type : [s.type]).map((t: string) => strField(1, t)))))
  if (s.items) parts.push(bytesField(23, bytesField(1, schemaMsg(s.items))))
  for (const a of s.allOf ?? []) parts.push(bytesField(24, schemaMsg(a)))
  if (s.properties) {
    parts.push(bytesField(25, Buffer.concat(Object.entries(s.properties).map(([k, v]) => bytesField(1, Buffer.concat([strField(1, k), bytesField(2, schemaMsg(v))]))))))
  }
  if (s.readOnly) parts.push(boolField(27, true))
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-')) parts.push(bytesField(31, namedAny(k, v)))
  return Buffer.concat(parts)
}

/** openapi.v2.ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{query_parameter_sub_schema}}}; other kinds are left out. */
function queryParamMsg(p: Json): Buffer | undefined {
  if (p.in !== 'query') return undefined
  const q = Buffer.concat([
    ...(p.required ? [boolField(1, true)] : []),
    strField(2, 'query'),
    ...(p.description ? [strField(3, p.description)] : []),
    strField(4, p.name),
    ...(p.type ? [strField(6, p.type)] : []),
    ...(p.uniqueItems ? [boolField(20, true)] : []),
  ])
  return bytesField(1, bytesField(2, bytesField(3, q)))
}

function operationMsg(op: Json): Buffer {
  return Buffer.concat([
    ...(op.tags ?? []).map((t: string) => strField(1, t)),
    ...(op.description ? [strField(3, op.description)] : []),
    ...(op.operationId ? [strField(5, op.operationId)] : []),
    ...(op.produces ?? []).map((t: string) => strField(6, t)),
    ...(op.consumes ?? []).map((t: string) => strField(7, t)),
    ...(op.parameters ?? []).map(queryParamMsg).filter(Boolean).map((b: Buffer) => bytesField(8, b)),
    ...Object.entries(op).filter(([k]) => k.startsWith('x-')).map(([k, v]) => bytesField(13, namedAny(k, v))),
  ])
}

function v2Protobuf(): Buffer {
  const l = load()
  if (l.v2pb) return l.v2pb
  const doc = v2()
  const info = Buffer.concat([strField(1, doc.info.title), strField(2, doc.info.version)])
  const defs = Buffer.concat(Object.entries(doc.definitions).map(([k, v]) => bytesField(1, Buffer.concat([strField(1, k), bytesField(2, schemaMsg(v))]))))
  // Paths carry each operation with its query parameters and x-kubernetes-* extensions: what kubectl reads
  // (dry-run support: a `dryRun` query parameter on the kind's patch operation).
  const fields: Record<string, number> = {get: 2, put: 3, post: 4, delete: 5, patch: 8}
  const paths = Buffer.concat(Object.entries(doc.paths).map(([path, item]: [string, Json]) => {
    const ops = Object.entries(fields).filter(([m]) => item[m]).map(([m, n]) => bytesField(n, operationMsg(item[m])))
    return bytesField(2, Buffer.concat([strField(1, path), bytesField(2, Buffer.concat(ops))]))
  }))
  l.v2pb = Buffer.concat([strField(1, doc.swagger), bytesField(2, info), bytesField(8, paths), bytesField(9, defs)])
  return l.v2pb
}

export interface OpenApiResponse {
  contentType: string
  body: string | Buffer
  /** kube-openapi sets ETag and long caching for hashed v3 URLs. */
  headers?: Record<string, string>
}

/** Serves /openapi/v2 and /openapi/v3[/<gv>]; undefined = not an OpenAPI path (404). */
export function openapi(path: string, query: URLSearchParams, accept: string | undefined): OpenApiResponse | undefined {
  const p = path.replace(/\/$/, '')
  if (p === '/openapi/v2') {
    // kube-openapi handler.go answers that Accept with '.' for '@' (a media type may not contain '@').
    if ((accept ?? '').includes(OPENAPI_V2_PROTOBUF)) return {contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', body: v2Protobuf()}
    return {contentType: 'application/json', body: JSON.stringify(v2())}
  }
  if (p === '/openapi/v3') {
    const paths = Object.fromEntries([...load().v3].map(([gv, d]) => [gv, {serverRelativeURL: `/openapi/v3/${gv}?hash=${d.hash}`}]))
    return {contentType: 'application/json', body: JSON.stringify({paths})}
  }
  const m = /^\/openapi\/v3\/(.+)$/.exec(p)
  if (m) {
    const d = load().v3.get(m[1]!)
    if (!d) return undefined
    return {contentType: 'application/json', body: d.text, headers: {Etag: `"${d.hash}"`}}
  }
  return undefined
}

// ---- strict decoding against the schemas -----------------------------------------------------------------

function resolve(s: Json): Json {
  const all = schemas()
  let cur = s
  for (let i = 0; i < 10 && cur; i++) {
    if (cur.$ref) cur = all[cur.$ref.replace('#/components/schemas/', '')]
    else if (Array.isArray(cur.allOf) && cur.allOf.length === 1) cur = cur.allOf[0]
    else break
  }
  return cur
}

/**
 * Removes the fields a schema does not declare and returns their paths (`metadata.bogus`, `spec.ports[0].x`) in
 * document order, as the apiserver's strict JSON decoding reports unknown fields (sigs.k8s.io/json UnmarshalStrict).
 */
export function dropUnknownFields(obj: Json, schemaName: string): string[] {
  const found: string[] = []
  const walk = (v: Json, s: Json, path: string) => {
    s = resolve(s)
    if (!s || v === null || typeof v !== 'object' || s['x-kubernetes-preserve-unknown-fields']) return
    if (Array.isArray(v)) {
      if (s.items) v.forEach((x, i) => walk(x, s.items, `${path}[${i}]`))
      return
    }
    if (s.properties) {
      for (const k of Object.keys(v)) {
        const sub = s.properties[k]
        const p = path ? `${path}.${k}` : k
        if (!sub) {
          found.push(p)
          delete v[k]
        } else walk(v[k], sub, p)
      }
    } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      for (const k of Object.keys(v)) walk(v[k], s.additionalProperties, path ? `${path}.${k}` : k)
    }
  }
  walk(obj, {$ref: `#/components/schemas/${schemaName}`}, '')
  return found
}
