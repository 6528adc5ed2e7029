// Tetragon's JSON export form (what `protojson.MarshalOptions{UseProtoNames: true}` produces,
// cilium/tetragon v1.7.0 pkg/encoder/encoder.go) →
// protobuf, for the lab's agents and for checking export lines against our proto. The other direction, protobuf →
// JSON, is reference-json.ts (@bufbuild/protobuf) and, for the event stream, wire-json.ts.
//
// JSON → proto is tolerant (new fields and event types arrive in every release): unknown keys and event types are reported as issues, never
// thrown, so pre-OSS or newer-agent lines can be inspected.

import type {Field, Message, OneOf, Type} from 'protobufjs'
import {isMapField, lookupType, protobuf, type ApiVariant} from './proto.js'

export type JsonValue = string | number | boolean | null | JsonValue[] | {[key: string]: JsonValue}
export type JsonObject = {[key: string]: JsonValue}

/** One line of Tetragon's JSON export (or one GetEventsResponse): exactly one event key plus common keys. */
export type TetragonEventJson = JsonObject & {node_name?: string; time?: string}

export interface JsonIssue {
  /** Dotted path of the offending key, e.g. `process_connect` or `process_kprobe.args[0].sock_arg.foo`. */
  path: string
  kind: 'unknown-event' | 'unknown-key' | 'unknown-enum' | 'bad-value' | 'no-event'
  message: string
}

// ---- Timestamps and durations ---------------------------------------------------------------------

type Int64 = number | string

function fractionDigits(nanos: number): string {
  // Go protojson prints 0, 3, 6 or 9 fractional digits for a Timestamp.
  if (nanos === 0) return ''
  if (nanos % 1_000_000 === 0) return '.' + String(nanos / 1_000_000).padStart(3, '0')
  if (nanos % 1000 === 0) return '.' + String(nanos / 1000).padStart(6, '0')
  return '.' + String(nanos).padStart(9, '0')
}

export function formatTimestamp(seconds: Int64, nanos = 0): string {
  const s = Number(String(seconds))
  const iso = new Date(s * 1000).toISOString() // YYYY-MM-DDTHH:MM:SS.000Z
  return iso.slice(0, 19) + fractionDigits(nanos) + 'Z'
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** RFC 3339 → {seconds, nanos}; undefined when malformed. */
export function parseTimestamp(text: string): {seconds: number; nanos: number} | undefined {
  const m = RFC3339.exec(text)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m
  let seconds = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) / 1000
  if (!Number.isFinite(seconds)) return undefined
  if (!z) seconds -= (sign === '-' ? -1 : 1) * (+oh * 3600 + +om * 60)
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0
  return {seconds, nanos}
}

export function dateToTimestampJson(date: Date): string {
  const ms = date.getTime()
  return formatTimestamp(Math.floor(ms / 1000), (((ms % 1000) + 1000) % 1000) * 1_000_000)
}

function parseDuration(text: string): {seconds: string; nanos: number} | undefined {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text)
  if (!m) return undefined
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0
  return {seconds: (m[1] ?? '') + m[2], nanos: m[1] ? -nanos : nanos}
}

// ---- JSON → proto ---------------------------------------------------------------------------------

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'])
const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue', '.google.protobuf.FloatValue', '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value', '.google.protobuf.Int32Value', '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue', '.google.protobuf.StringValue', '.google.protobuf.BytesValue',
])


function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function fieldFor(type: Type, key: string): Field | undefined {
  const f = type.fields[key]
  if (f) return f
  // protojson also accepts the lowerCamelCase JSON name.
  return type.fieldsArray.find((x) => camel(x.name) === key)
}

function issue(issues: JsonIssue[], path: string, kind: JsonIssue['kind'], message: string) {
  issues.push({path, kind, message})
}

function scalarFromJson(field: Field, v: JsonValue, path: string, issues: JsonIssue[]): unknown {
  const rt = field.resolvedType
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'number' && Number.isInteger(v)) return v
    if (typeof v === 'string' && Object.hasOwn(rt.values, v)) return rt.values[v]
    issue(issues, path, 'unknown-enum', `unknown ${rt.name} value ${JSON.stringify(v)}`)
    return undefined
  }
  const t = field.type
  if (INT64.has(t)) {
    if ((typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v))) return String(v)
  } else if (t === 'bytes') {
    if (typeof v === 'string') return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  } else if (t === 'string') {
    if (typeof v === 'string') return v
  } else if (t === 'bool') {
    if (typeof v === 'boolean') return v
  } else if (t === 'double' || t === 'float') {
    if (typeof v === 'number') return v
    if (typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v)) return Number(v)
  } else {
    // 32-bit integers: numbers (protojson also accepts numeric strings).
    if (typeof v === 'number' && Number.isInteger(v)) return v
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v)
  }
  issue(issues, path, 'bad-value', `expected ${t} at ${path}, got ${JSON.stringify(v)?.slice(0, 60)}`)
  return undefined
}

function wellKnownFromJson(type: Type, v: JsonValue, path: string, issues: JsonIssue[]): {ok: boolean; value?: unknown} {
  const name = type.fullName
  if (name === '.google.protobuf.Timestamp') {
    const ts = typeof v === 'string' ? parseTimestamp(v) : undefined
    if (!ts) issue(issues, path, 'bad-value', `expected an RFC 3339 timestamp at ${path}, got ${JSON.stringify(v)}`)
    return {ok: true, value: ts && {seconds: ts.seconds, nanos: ts.nanos}}
  }
  if (name === '.google.protobuf.Duration') {
    const d = typeof v === 'string' ? parseDuration(v) : undefined
    if (!d) issue(issues, path, 'bad-value', `expected a duration like "1.5s" at ${path}, got ${JSON.stringify(v)}`)
    return {ok: true, value: d}
  }
  if (WRAPPERS.has(name)) {
    const inner = scalarFromJson(type.fields.value!, v, path, issues)
    return {ok: true, value: inner === undefined ? undefined : {value: inner}}
  }
  if (name === '.google.protobuf.FieldMask') {
    if (typeof v !== 'string') {
      issue(issues, path, 'bad-value', `expected a comma-separated field mask at ${path}`)
      return {ok: true}
    }
    const paths = v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()))
    return {ok: true, value: {paths}}
  }
  if (name === '.google.protobuf.Value') return {ok: true, value: jsonToValue(v)}
  if (name === '.google.protobuf.ListValue') {
    if (!Array.isArray(v)) return {ok: true}
    return {ok: true, value: {values: v.map(jsonToValue)}}
  }
  if (name === '.google.protobuf.Any') {
    if (!v || typeof v !== 'object' || Array.isArray(v) || typeof v['@type'] !== 'string') {
      issue(issues, path, 'bad-value', `expected an Any object with "@type" at ${path}`)
      return {ok: true}
    }
    const url = v['@type']
    let itype: Type
    try {
      itype = type.root.lookupType(url.slice(url.lastIndexOf('/') + 1))
    } catch {
      issue(issues, path, 'bad-value', `unknown Any type ${url} at ${path}`)
      return {ok: true}
    }
    const probe = wellKnownFromJson(itype, (v as JsonObject).value ?? null, path + '.value', issues)
    let plain: unknown
    if (probe.ok) plain = probe.value
    else {
      const {['@type']: _t, ...rest} = v as JsonObject
      plain = plainFromJson(itype, rest, path, issues)
    }
    const bytes = itype.encode(itype.fromObject((plain ?? {}) as Record<string, unknown>)).finish()
    return {ok: true, value: {type_url: url, value: bytes}}
  }
  return {ok: false}
}

// google.protobuf.Value: protobufjs' bundled struct.proto names the members in camelCase (nullValue …).
function jsonToValue(v: JsonValue): Record<string, unknown> {
  if (v === null) return {nullValue: 0}
  if (typeof v === 'number') return {numberValue: v}
  if (typeof v === 'string') return {stringValue: v}
  if (typeof v === 'boolean') return {boolValue: v}
  if (Array.isArray(v)) return {listValue: {values: v.map(jsonToValue)}}
  return {structValue: {fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonToValue(x)]))}}
}

function valueFromJson(field: Field, v: JsonValue, path: string, issues: JsonIssue[]): unknown {
  const rt = field.resolvedType
  if (rt instanceof protobuf.Type) {
    const wk = wellKnownFromJson(rt, v, path, issues)
    if (wk.ok) return wk.value
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      issue(issues, path, 'bad-value', `expected an object (${rt.name}) at ${path}, got ${JSON.stringify(v)?.slice(0, 60)}`)
      return undefined
    }
    return plainFromJson(rt, v, path, issues)
  }
  return scalarFromJson(field, v, path, issues)
}

/** JSON export form → protobufjs plain object (input of `Type.fromObject`), reporting what does not fit. */
export function plainFromJson(type: Type, json: JsonObject, path: string, issues: JsonIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const oneofSeen = new Map<OneOf, string>()
  for (const [key, v] of Object.entries(json)) {
    const p = path ? `${path}.${key}` : key
    const field = fieldFor(type, key)
    if (!field) {
      issue(issues, p, 'unknown-key', `${type.name} has no field "${key}"`)
      continue
    }
    field.resolve()
    if (v === null) continue // protojson: null = unset
    if (field.partOf && !field.partOf.name.startsWith('_')) {
      const prev = oneofSeen.get(field.partOf)
      if (prev) issue(issues, p, 'bad-value', `oneof ${field.partOf.name} already set by "${prev}"`)
      oneofSeen.set(field.partOf, key)
    }
    if (isMapField(field)) {
      if (typeof v !== 'object' || Array.isArray(v)) {
        issue(issues, p, 'bad-value', `expected an object map at ${p}`)
        continue
      }
      const o: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) {
        const conv = valueFromJson(field, x, `${p}.${k}`, issues)
        if (conv !== undefined) o[k] = conv
      }
      out[field.name] = o
    } else if (field.repeated) {
      if (!Array.isArray(v)) {
        issue(issues, p, 'bad-value', `expected an array at ${p}`)
        continue
      }
      out[field.name] = v.map((x, i) => valueFromJson(field, x, `${p}[${i}]`, issues)).filter((x) => x !== undefined)
    } else {
      const conv = valueFromJson(field, v, p, issues)
      if (conv !== undefined) out[field.name] = conv
    }
  }
  return out
}

/** JSON export form → protobufjs message of `type`. Unknown keys are dropped and reported in `issues`. */
export function jsonToMessage(type: Type, json: JsonObject, issues: JsonIssue[] = [], path = ''): Message {
  return type.fromObject(plainFromJson(type, json, path, issues))
}

export function encodeJson(type: Type, json: JsonObject, issues: JsonIssue[] = []): Uint8Array {
  return type.encode(jsonToMessage(type, json, issues)).finish()
}


// ---- Events ---------------------------------------------------------------------------------------

function responseType(variant: ApiVariant = 'current'): Type {
  return lookupType('tetragon.GetEventsResponse', variant)
}

/** The oneof event keys our proto knows (`process_exec`, …, `rate_limit_info`). */
export function eventKeys(variant: ApiVariant = 'current'): string[] {
  return responseType(variant).oneofs.event!.oneof.slice()
}

/** The event key of a JSON event (`process_exec` …), or undefined. */
export function eventKind(event: JsonObject, variant: ApiVariant = 'current'): string | undefined {
  const keys = eventKeys(variant)
  return Object.keys(event).find((k) => keys.includes(k))
}

/**
 * Check a JSON event against our proto: unknown event types (top-level keys that are not common keys), unknown
 * nested keys, bad values. Never throws.
 */
export function inspectEventJson(event: JsonObject, variant: ApiVariant = 'current'): {kind?: string; issues: JsonIssue[]} {
  const issues: JsonIssue[] = []
  encodeEventJson(event, variant, issues)
  return {kind: eventKind(event, variant), issues}
}

/** JSON event → GetEventsResponse bytes. Issues (unknown keys/types) are appended to `issues`. */
export function encodeEventJson(event: JsonObject, variant: ApiVariant = 'current', issues: JsonIssue[] = []): Uint8Array {
  const type = responseType(variant)
  const known: JsonObject = {}
  const eventNames = eventKeys(variant)
  let kind: string | undefined
  for (const [k, v] of Object.entries(event)) {
    if (fieldFor(type, k)) {
      known[k] = v
      if (eventNames.includes(k)) kind = k
    } else {
      issue(issues, k, 'unknown-event', `unknown event type or top-level key "${k}"`)
    }
  }
  if (!kind) issue(issues, '', 'no-event', 'no event type our proto knows')
  return encodeJson(type, known, issues)
}

export interface ExportLineReport {
  /** 1-based line number. */
  line: number
  /** Event key our proto knows, if any. */
  kind?: string
  /** Top-level keys that are neither a known event type nor a common key (e.g. pre-OSS `process_connect`). */
  unknownTypes: string[]
  /** Nested keys our proto does not have, as dotted paths. */
  unknownKeys: string[]
  /** Values of the wrong JSON type, unknown enum names, bad timestamps. */
  badValues: string[]
  /** The line is not JSON at all. */
  parseError?: string
}

/** Check JSON export text (one event per line) against our proto, line by line. Never throws. */
export function inspectExportLines(text: string, variant: ApiVariant = 'current'): ExportLineReport[] {
  const out: ExportLineReport[] = []
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return
    const r: ExportLineReport = {line: i + 1, unknownTypes: [], unknownKeys: [], badValues: []}
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch (e) {
      r.parseError = (e as Error).message
      out.push(r)
      return
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      r.parseError = 'not a JSON object'
      out.push(r)
      return
    }
    const {kind, issues} = inspectEventJson(json as JsonObject, variant)
    if (kind) r.kind = kind
    for (const x of issues) {
      if (x.kind === 'unknown-event') r.unknownTypes.push(x.path)
      else if (x.kind === 'unknown-key') r.unknownKeys.push(x.path)
      else if (x.kind === 'bad-value' || x.kind === 'unknown-enum') r.badValues.push(`${x.path}: ${x.message}`)
    }
    out.push(r)
  })
  return out
}
