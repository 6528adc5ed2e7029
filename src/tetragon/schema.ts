// Unknown-field detection on raw GetEventsResponse bytes: which field numbers (and where) our proto does not know,
// which event oneof numbers are unknown, and wire-level anomalies that betray an agent/collector proto mismatch
// ("protobuf decoding failure"). protobufjs drops unknown fields while decoding, so this walks the
// wire format itself, guided by the protobufjs Type.

import type {Field, Type} from 'protobufjs'
import {isMapField, lookupType, type ApiVariant} from './proto.js'

export interface UnknownField {
  /** Message path in JSON-export terms, e.g. `process_exec.process.pod` ('' = the GetEventsResponse itself). */
  path: string
  /** Protobuf message type at that path, e.g. `tetragon.Pod`. */
  message: string
  number: number
  wireType: number
  /** What the number meant in other Tetragon releases, when the spec documents it. */
  note?: string
}

export interface WireAnomaly {
  path: string
  message: string
  number: number
  /** Field name in our proto. */
  field: string
  problem: 'wire-type-mismatch' | 'singular-repeated' | 'truncated'
  detail: string
}

export interface SchemaInspection {
  /** Event key our proto decoded (`process_exec` …), if any. */
  event?: string
  /** An event oneof number our proto does not know (a newer or older agent's event type). */
  unknownEvent?: {number: number; note?: string}
  unknownFields: UnknownField[]
  anomalies: WireAnomaly[]
  /** protobufjs failed to decode the bytes at all. */
  decodeError?: string
  /** True when nothing above was found. */
  clean: boolean
}

// Field numbers whose meaning changed across releases (cilium/tetragon api/v1/tetragon/*.proto compared across tags).
const HISTORY: Record<string, Record<number, string>> = {
  'tetragon.GetEventsResponse': {
    14: 'process_dns (ProcessDns): v0.8.0 only, removed in v0.8.1 — the agent speaks the incompatible v0.8.0 API',
  },
  'tetragon.Pod': {
    3: 'Pod.labels (repeated string) in v0.8.0 – v1.0.3; reused for uid (string) in v1.6.0 — the agent is older than v1.1.0',
  },
}

// GetEventsResponse numbers in the event oneof ranges: events use 1–999 and 40000+, common keys 1000–1004
// (cilium/tetragon v1.7.0 api/v1/tetragon/events.proto). Reserved 2–4, 6–8, 13–26 once held removed event types.
const RESERVED_EVENT_NUMBERS = (n: number) => (n >= 2 && n <= 4) || (n >= 6 && n <= 8) || (n >= 13 && n <= 26)
const isEventNumber = (n: number) => n < 1000 || n >= 40000

const VARINT = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool'])
const FIXED64 = new Set(['fixed64', 'sfixed64', 'double'])
const FIXED32 = new Set(['fixed32', 'sfixed32', 'float'])

function expectedWireTypes(field: Field): number[] {
  if (isMapField(field)) return [2]
  const rt = field.resolvedType
  if (rt && 'fields' in rt) return [2]
  let scalar: number
  if (rt) scalar = 0 // enum
  else if (VARINT.has(field.type)) scalar = 0
  else if (FIXED64.has(field.type)) scalar = 1
  else if (FIXED32.has(field.type)) scalar = 5
  else scalar = 2 // string, bytes
  // Repeated numeric fields may be packed (2) or not (the scalar's own wire type).
  return field.repeated && scalar !== 2 ? [scalar, 2] : [scalar]
}

class Reader {
  pos = 0
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}
  varint(): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint')
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
    throw new Error('varint longer than 10 bytes')
  }
  skip(n: number) {
    if (this.pos + n > this.end) throw new Error('truncated field')
    this.pos += n
  }
}

/** Skip one field value of `wireType`; returns [start, end) of a length-delimited payload. */
function skipValue(r: Reader, wireType: number, fieldNo: number): [number, number] | undefined {
  switch (wireType) {
    case 0:
      r.varint()
      return undefined
    case 1:
      r.skip(8)
      return undefined
    case 2: {
      const len = r.varint()
      const start = r.pos
      r.skip(len)
      return [start, start + len]
    }
    case 3: {
      // deprecated groups: skip until the matching end-group tag
      for (;;) {
        const tag = r.varint()
        const wt = tag % 8
        if (wt === 4) {
          if (Math.floor(tag / 8) !== fieldNo) throw new Error('mismatched end-group')
          return undefined
        }
        skipValue(r, wt, Math.floor(tag / 8))
      }
    }
    case 5:
      r.skip(4)
      return undefined
    default:
      throw new Error(`invalid wire type ${wireType}`)
  }
}

interface Acc {
  unknownFields: UnknownField[]
  anomalies: WireAnomaly[]
}

function walk(type: Type, buf: Uint8Array, start: number, end: number, path: string, acc: Acc, depth: number) {
  if (depth > 64) return
  const r = new Reader(buf, end)
  r.pos = start
  const typeName = type.fullName.replace(/^\./, '')
  const seen = new Map<number, number>()
  while (r.pos < end) {
    let tag: number
    try {
      tag = r.varint()
    } catch (e) {
      acc.anomalies.push({path, message: typeName, number: 0, field: '', problem: 'truncated', detail: String((e as Error).message)})
      return
    }
    const no = Math.floor(tag / 8)
    const wt = tag % 8
    const field = type.fieldsById[no]
    let span: [number, number] | undefined
    try {
      span = skipValue(r, wt, no)
    } catch (e) {
      acc.anomalies.push({path, message: typeName, number: no, field: field?.name ?? '', problem: 'truncated', detail: (e as Error).message})
      return
    }
    if (!field) {
      const note = HISTORY[typeName]?.[no]
      acc.unknownFields.push({path, message: typeName, number: no, wireType: wt, ...(note ? {note} : {})})
      continue
    }
    field.resolve()
    const fpath = path ? `${path}.${field.name}` : field.name
    if (!expectedWireTypes(field).includes(wt)) {
      acc.anomalies.push({
        path, message: typeName, number: no, field: field.name, problem: 'wire-type-mismatch',
        detail: `${typeName}.${field.name} (#${no}) arrived with wire type ${wt}, our proto expects ${expectedWireTypes(field).join(' or ')}`,
      })
      continue
    }
    const count = (seen.get(no) ?? 0) + 1
    seen.set(no, count)
    if (!field.repeated && !isMapField(field) && count === 2) {
      const note = HISTORY[typeName]?.[no]
      acc.anomalies.push({
        path, message: typeName, number: no, field: field.name, problem: 'singular-repeated',
        detail: `${typeName}.${field.name} (#${no}) is singular in our proto but the agent sent it more than once${note ? `: ${note}` : ''}`,
      })
    }
    if (!span) continue
    const rt = field.resolvedType
    if (isMapField(field)) {
      if (rt && 'fields' in rt) walkMapEntry(rt as Type, buf, span, `${fpath}{}`, acc, depth)
    } else if (rt && 'fields' in rt) {
      const p = field.repeated ? `${fpath}[${count - 1}]` : fpath
      walk(rt as Type, buf, span[0], span[1], p, acc, depth + 1)
    }
  }
}

function walkMapEntry(valueType: Type, buf: Uint8Array, span: [number, number], path: string, acc: Acc, depth: number) {
  const r = new Reader(buf, span[1])
  r.pos = span[0]
  try {
    while (r.pos < span[1]) {
      const tag = r.varint()
      const no = Math.floor(tag / 8)
      const s = skipValue(r, tag % 8, no)
      if (no === 2 && s) walk(valueType, buf, s[0], s[1], path, acc, depth + 1)
    }
  } catch (e) {
    acc.anomalies.push({path, message: valueType.fullName.slice(1), number: 0, field: '', problem: 'truncated', detail: (e as Error).message})
  }
}

/** Inspect the raw bytes of any message type against our proto. */
export function inspectMessageBytes(type: Type, bytes: Uint8Array, path = ''): {unknownFields: UnknownField[]; anomalies: WireAnomaly[]} {
  const acc: Acc = {unknownFields: [], anomalies: []}
  walk(type, bytes, 0, bytes.length, path, acc, 0)
  return acc
}

/** Inspect one raw GetEventsResponse as received on the wire. */
export function inspectEventBytes(bytes: Uint8Array, variant: ApiVariant = 'current'): SchemaInspection {
  const type = lookupType('tetragon.GetEventsResponse', variant)
  const {unknownFields, anomalies} = inspectMessageBytes(type, bytes)
  const out: SchemaInspection = {unknownFields: [], anomalies, clean: false}
  for (const u of unknownFields) {
    if (u.path === '' && u.wireType === 2 && isEventNumber(u.number) && out.unknownEvent === undefined) {
      const note =
        u.note ??
        (RESERVED_EVENT_NUMBERS(u.number)
          ? `reserved number ${u.number}: an event type removed from the API`
          : `event number ${u.number} is newer than tetractl's proto (v1.7.0)`)
      out.unknownEvent = {number: u.number, note}
    } else {
      out.unknownFields.push(u)
    }
  }
  try {
    // protobufjs names the member set in a oneof through a virtual property of the oneof's name.
    const ev: unknown = Reflect.get(type.decode(bytes), 'event')
    if (typeof ev === 'string') out.event = ev
  } catch (e) {
    out.decodeError = (e as Error).message
  }
  out.clean = !out.unknownEvent && out.unknownFields.length === 0 && out.anomalies.length === 0 && !out.decodeError
  return out
}

/** One line per finding, for check output. */
export function describeInspection(i: SchemaInspection): string[] {
  const lines: string[] = []
  if (i.decodeError) lines.push(`protobuf decoding failed: ${i.decodeError}`)
  if (i.unknownEvent) lines.push(`unknown event type #${i.unknownEvent.number}${i.unknownEvent.note ? ` (${i.unknownEvent.note})` : ''}`)
  for (const u of i.unknownFields) {
    lines.push(`unknown field #${u.number} in ${u.message}${u.path ? ` at ${u.path}` : ''}${u.note ? ` (${u.note})` : ''}`)
  }
  for (const a of i.anomalies) lines.push(a.detail)
  return lines
}
