// Protobuf wire bytes → Tetragon's JSON export form as UTF-8 bytes, without building objects in between.
//
// `tetractl events -o json` prints every event it receives; decoding into protobufjs messages, converting to plain
// objects and JSON.stringify-ing them took 18-20 µs per 1.4 kB event, more than grpc-js spends receiving it (this
// takes ~4 µs; test/tetragon/wire-json.test.ts checks the text, `npm run bench` P4 the rate). This transcoder reads the
// wire format (protobuf encoding guide: varint / 64-bit / length-delimited / 32-bit records, keys = field << 3 | type)
// and writes the same text that JSON.stringify(decodeEventBytes(bytes)) gives (src/tetragon/reference-json.ts, the
// reference, @bufbuild/protobuf's proto3 JSON mapping):
// declaration-order keys, zero values omitted for fields without presence, 64-bit integers as strings, enums as
// names (unknown numbers stay numbers), bytes as base64, wrappers as bare values, Timestamps in RFC 3339 with 0/3/6/9
// fractional digits, map keys sorted by their UTF-8 bytes as Go does (google.golang.org/protobuf encoding/protojson).
//
// Whatever it does not handle exactly like the reference throws NeedsReference, and the caller uses the reference
// for that message: groups, a singular message field or two members of one oneof present twice (merge rules the
// reference applies), out-of-range Timestamps, strings that are not UTF-8, malformed bytes, well-known types other
// than Timestamp and wrappers. test/tetragon/wire-json.test.ts compares both on every fixture event and on edge cases.

import {isUtf8} from 'node:buffer'
import type {Enum, Field, Type} from 'protobufjs'
import {isMapField} from './proto.js'

/** Signals "use the reference decoder for this message". */
export class NeedsReference extends Error {}
const NEEDS_REFERENCE = new NeedsReference('needs the reference decoder')

const enum K {
  String, Bytes, Bool, Int32, Uint32, Sint32, Fixed32, Sfixed32, Int64, Uint64, Sint64, Fixed64, Sfixed64, Double, Float, Enum,
  Message, Timestamp, Wrapper, Map,
}

const SCALAR: Record<string, K> = {
  string: K.String, bytes: K.Bytes, bool: K.Bool, int32: K.Int32, uint32: K.Uint32, sint32: K.Sint32, fixed32: K.Fixed32,
  sfixed32: K.Sfixed32, int64: K.Int64, uint64: K.Uint64, sint64: K.Sint64, fixed64: K.Fixed64, sfixed64: K.Sfixed64,
  double: K.Double, float: K.Float,
}

const WRAPPER_KIND: Record<string, K> = {
  '.google.protobuf.DoubleValue': K.Double, '.google.protobuf.FloatValue': K.Float, '.google.protobuf.Int64Value': K.Int64,
  '.google.protobuf.UInt64Value': K.Uint64, '.google.protobuf.Int32Value': K.Int32, '.google.protobuf.UInt32Value': K.Uint32,
  '.google.protobuf.BoolValue': K.Bool, '.google.protobuf.StringValue': K.String, '.google.protobuf.BytesValue': K.Bytes,
}

interface FieldPlan {
  name: string
  number: number
  /** `"name":` */
  key: Words
  kind: K
  /** For Wrapper: the wrapped scalar kind. For Map: the value kind. */
  inner: K
  repeated: boolean
  /** Emitted when set even at its zero value (messages, oneof members, proto3 optional). */
  presence: boolean
  /** Index of its (non-synthetic) oneof in the message plan, or -1. */
  oneof: number
  message?: MessagePlan
  enumNames?: Map<number, Words>
  /** Map value message / enum. */
  mapValue?: FieldPlan
  /** Accepts a packed encoding (repeated numeric). */
  packable: boolean
}

interface MessagePlan {
  fields: FieldPlan[]
  /** field number → index in fields (sparse array for small numbers, Map otherwise). */
  small: Int16Array
  large: Map<number, number>
  oneofCount: number
  /** Index of the oneof named `event` (GetEventsResponse), or -1. */
  eventOneof: number
  unsupported: boolean
}

const plans = new Map<Type, MessagePlan>()

function scalarKind(field: Field): K | undefined {
  const rt = field.resolvedType
  if (rt && !('fields' in rt)) return K.Enum
  return SCALAR[field.type]
}

function enumNames(e: Enum): Map<number, Words> {
  const m = new Map<number, Words>()
  for (const [num, name] of Object.entries(e.valuesById)) m.set(Number(num), words(Buffer.from(JSON.stringify(name))))
  return m
}

/** The plan of a field; with `mapValue`, of a map field's values. */
function fieldPlan(field: Field, oneofIndex: Map<string, number>, mapValue = false): FieldPlan {
  field.resolve()
  const rt = field.resolvedType
  const p: FieldPlan = {
    name: field.name, number: field.id, key: words(Buffer.from(`${JSON.stringify(field.name)}:`)), kind: K.Message, inner: K.Message, repeated: field.repeated,
    presence: Boolean(field.partOf) || Boolean(rt && 'fields' in rt), oneof: -1, packable: false,
    // Every property set here, so all plans share one hidden class (monomorphic access in the hot loops).
    message: undefined, enumNames: undefined, mapValue: undefined,
  }
  if (field.partOf && !field.partOf.name.startsWith('_')) p.oneof = oneofIndex.get(field.partOf.name)!
  if (isMapField(field) && !mapValue) {
    p.kind = K.Map
    p.repeated = false
    if (field.keyType !== 'string') throw NEEDS_REFERENCE
    const value = fieldPlan(field, oneofIndex, true)
    value.repeated = false
    // Message values could hold maps themselves; map() keeps one map's entries at a time.
    if (value.kind === K.Message) throw NEEDS_REFERENCE
    p.mapValue = value
    p.inner = value.kind
    return p
  }
  if (rt && 'fields' in rt) {
    const t = rt as Type
    const full = t.fullName
    if (full === '.google.protobuf.Timestamp') p.kind = K.Timestamp
    else if (full in WRAPPER_KIND) {
      p.kind = K.Wrapper
      p.inner = WRAPPER_KIND[full]!
    } else if (full.startsWith('.google.protobuf.')) {
      throw NEEDS_REFERENCE
    } else {
      p.kind = K.Message
      p.message = planOf(t)
      if (p.message.unsupported) throw NEEDS_REFERENCE
    }
    return p
  }
  const k = scalarKind(field)
  if (k === undefined) throw NEEDS_REFERENCE
  p.kind = k
  if (k === K.Enum && rt && !('fields' in rt)) p.enumNames = enumNames(rt)
  p.packable = p.repeated && !mapValue && k !== K.String && k !== K.Bytes
  return p
}

function planOf(type: Type): MessagePlan {
  const known = plans.get(type)
  if (known) return known
  const plan: MessagePlan = {fields: [], small: new Int16Array(0), large: new Map(), oneofCount: 0, eventOneof: -1, unsupported: false}
  plans.set(type, plan) // recursion guard: a cycle refers to the same (filling) plan
  const oneofIndex = new Map<string, number>()
  for (const o of type.oneofsArray) {
    if (o.name.startsWith('_')) continue
    if (o.name === 'event') plan.eventOneof = oneofIndex.size
    oneofIndex.set(o.name, oneofIndex.size)
  }
  plan.oneofCount = oneofIndex.size
  try {
    // Declaration order: what protojson (and the reference decoder) emit.
    for (const f of type.fieldsArray) plan.fields.push(fieldPlan(f, oneofIndex))
  } catch (e) {
    if (!(e instanceof NeedsReference)) throw e
    plan.unsupported = true
    return plan
  }
  const maxSmall = 4096
  const small = new Int16Array(maxSmall).fill(-1)
  plan.fields.forEach((f, i) => (f.number < maxSmall ? (small[f.number] = i) : plan.large.set(f.number, i)))
  plan.small = small
  return plan
}


/** A constant byte string prepared for word-wise copying. */
interface Words {
  words: Int32Array
  tail: Uint8Array
  length: number
  text: string
}

function words(b: Buffer): Words {
  const n = b.length >> 2
  const words = new Int32Array(n)
  for (let i = 0; i < n; i++) words[i] = b.readInt32LE(i * 4)
  return {words, tail: Uint8Array.from(b.subarray(n * 4)), length: b.length, text: b.toString('utf8')}
}


const ESC = new Uint8Array(256)
for (let i = 0; i < 0x20; i++) ESC[i] = 1
ESC[0x22] = 1
ESC[0x5c] = 1
for (let i = 0x80; i < 256; i++) ESC[i] = 2
const SHORT: Record<number, string> = {0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\'}


function int64Text(lo: number, high: number, signed: boolean): string {
  if (high === 0) return String(lo >>> 0)
  if (!signed || (high & 0x80000000) === 0) {
    const h = high >>> 0
    if (h < 0x200000) return String(h * 4294967296 + (lo >>> 0))
    return ((BigInt(h) << 32n) | BigInt(lo >>> 0)).toString()
  }
  return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(lo >>> 0)).toString()
}

const MAX_SECONDS = 253402300799 // 9999-12-31T23:59:59Z; beyond it Date#toISOString changes form

const CIVIL_SLOTS = 64

function zeroEnum(v: FieldPlan): string {
  return v.enumNames!.get(0)?.text ?? '0'
}


// ---- API ------------------------------------------------------------------------------------------

export interface Transcoder {
  /** False when the type (or a type it contains) needs the reference decoder for every message. */
  readonly supported: boolean
  /**
   * Appends the JSON text of one message plus `suffix` to the internal buffer. Returns the member of the message's
   * `event` oneof that was present (`process_exec` …), if any. Throws NeedsReference (buffer unchanged) when the
   * reference must decide.
   */
  append(message: Buffer, suffix?: number): string | undefined
  /** The JSON text of one message, not kept in the buffer. Throws NeedsReference like append(). */
  toText(message: Buffer): string
  /** Drops what the last append() added (an event the caller does not print). */
  discardLast(): void
  /** Appends text as UTF-8 (a line the reference produced). */
  appendText(s: string): void
  /** Bytes appended since the last take. */
  readonly length: number
  /** The bytes appended so far; later appends go to another buffer. */
  take(): Buffer
  /** Gives back a buffer from take() once nothing reads it any more (its write completed), to be filled again. */
  recycle(b: Buffer): void
}

// Below glibc's mmap threshold (128 KiB): a fresh buffer per 64 KiB chunk then costs no page faults.
const INITIAL = 96 * 1024

/**
 * A transcoder for messages of `type`. Each one owns its output buffers, spare buffers and scratch arrays: they are
 * the `var`s of this call, shared by the hot functions declared inside it (a closure's `var` is read without the
 * hole check a module-level `let` costs, and no `this` is threaded through the calls).
 */
export function transcoder(type: Type): Transcoder {
  const plan = planOf(type)
  var spare: Buffer[] = []

  var out: Buffer = Buffer.allocUnsafeSlow(INITIAL)
  var pos = 0

  var outView = new DataView(out.buffer, out.byteOffset, out.byteLength)

  function setOut(b: Buffer) {
    out = b
    outView = new DataView(b.buffer, b.byteOffset, b.byteLength)
  }

  function grow(need: number) {
    let size = out.length * 2
    while (size < pos + need) size *= 2
    const next = Buffer.allocUnsafeSlow(size)
    out.copy(next, 0, 0, pos)
    setOut(next)
  }

  function byte(b: number) {
    if (pos + 1 > out.length) grow(1)
    out[pos++] = b
  }

  function constant(c: Words) {
    if (pos + c.length > out.length) grow(c.length)
    const ov = outView
    const w = c.words
    let p = pos
    for (let i = 0; i < w.length; i++) {
      ov.setInt32(p, w[i]!, true)
      p += 4
    }
    const t = c.tail
    const o = out
    for (let i = 0; i < t.length; i++) o[p++] = t[i]!
    pos = p
  }

  function ascii(s: string) {
    const n = s.length
    if (pos + n > out.length) grow(n)
    const o = out
    let p = pos
    for (let i = 0; i < n; i++) o[p++] = s.charCodeAt(i)
    pos = p
  }

  /** A non-negative integer below 2^53 in decimal. */
  function uint(v: number) {
    if (pos + 16 > out.length) grow(16)
    const o = out
    if (v < 10) {
      o[pos++] = 0x30 + v
      return
    }
    if (v > 0x7fffffff) {
      ascii(String(v))
      return
    }
    let n = 1
    for (let x = v; x >= 10; x = (x / 10) | 0) n++
    let p = pos + n
    pos = p
    let x = v | 0
    do {
      const q = (x / 10) | 0
      o[--p] = 0x30 + (x - q * 10)
      x = q
    } while (x > 0)
  }

  function int(v: number) {
    if (v < 0) {
      byte(0x2d)
      uint(-v)
    } else uint(v)
  }

  function text(s: string) {
    const n = Buffer.byteLength(s)
    if (pos + n > out.length) grow(n)
    pos += out.write(s, pos, 'utf8')
  }

  // JSON.stringify's escapes: \b \t \n \f \r \" \\, other controls as \u00xx (lower-case hex).
  /**
   * A UTF-8 string from src[s, e) as a JSON string literal. Four bytes at a time: a word with no byte below 0x20,
   * at or above 0x80, '"' or '\\' is copied as it is (bit tricks from "Bit Twiddling Hacks": haszero / hasless).
   */
  function jsonString(s: number, e: number) {
    if (pos + (e - s) + 2 > out.length) grow(e - s + 2)
    const o = out
    const b = src
    const sv = srcView
    const ov = outView
    let p = pos
    o[p++] = 0x22
    let i = s
    for (const e4 = e - 3; i < e4; i += 4) {
      const x = sv.getInt32(srcBase + i, true)
      const q = x ^ 0x22222222
      const bs = x ^ 0x5c5c5c5c
      if (((x | ((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((bs - 0x01010101) & ~bs)) & 0x80808080) !== 0) return jsonStringSlow(s, e)
      ov.setInt32(p, x, true)
      p += 4
    }
    for (; i < e; i++) {
      const c = b[i]!
      if (ESC[c] !== 0) return jsonStringSlow(s, e)
      o[p++] = c
    }
    o[p++] = 0x22
    pos = p
  }

  function jsonStringSlow(s: number, e: number) {
    let ascii7 = true
    for (let i = s; i < e; i++) if (src[i]! >= 0x80) ascii7 = false
    if (!ascii7) {
      // A proto3 string must be valid UTF-8: Go's proto.Unmarshal and the reference refuse the message otherwise.
      if (!isUtf8(src.subarray(s, e))) throw NEEDS_REFERENCE
      // Non-ASCII: decode and let JSON.stringify escape it.
      text(JSON.stringify(src.toString('utf8', s, e)))
      return
    }
    byte(0x22)
    for (let i = s; i < e; i++) {
      const c = src[i]!
      if (ESC[c] === 0) byte(c)
      else ascii(SHORT[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`)
    }
    byte(0x22)
  }

  // ---- Wire reading -----------------------------------------------------------------------------------

  var src: Buffer = Buffer.alloc(0)
  /** A view of src's whole ArrayBuffer (messages often share a pooled one, so it is reused) and src's offset in it. */
  var srcView = new DataView(src.buffer)
  var srcBase = 0
  var rp = 0
  /** High 32 bits of the last varint read (low bits are the return value). */
  var hi = 0

  function varint(end: number): number {
    let lo = 0
    let b: number
    // Bytes 1-4: 28 bits.
    for (let shift = 0; shift < 28; shift += 7) {
      if (rp >= end) throw NEEDS_REFERENCE
      b = src[rp++]!
      lo |= (b & 0x7f) << shift
      if (b < 0x80) {
        hi = 0
        return lo >>> 0
      }
    }
    // Byte 5: 4 low bits, 3 high bits.
    if (rp >= end) throw NEEDS_REFERENCE
    b = src[rp++]!
    lo |= (b & 0x0f) << 28
    let h = (b & 0x7f) >> 4
    if (b < 0x80) {
      hi = h
      return lo >>> 0
    }
    // Bytes 6-10: the rest of the high word (the 10th byte contributes one bit).
    for (let shift = 3; shift < 32; shift += 7) {
      if (rp >= end) throw NEEDS_REFERENCE
      b = src[rp++]!
      h |= (b & 0x7f) << shift
      if (b < 0x80) {
        hi = h
        return lo >>> 0
      }
    }
    throw NEEDS_REFERENCE // longer than 10 bytes
  }

  // Occurrence arena: per field occurrence (start, end, wire type, next). Field slots: head, tail per field.
  var occ = new Int32Array(4 * 4096)
  var occTop = 4 // 0 means "none"
  var slots = new Int32Array(4096)
  var slotTop = 0

  function pushOcc(s: number, e: number, wt: number): number {
    if (occTop + 4 > occ.length) {
      const next = new Int32Array(occ.length * 2)
      next.set(occ)
      occ = next
    }
    const i = occTop
    occ[i] = s
    occ[i + 1] = e
    occ[i + 2] = wt
    occ[i + 3] = 0
    occTop += 4
    return i
  }

  function fixed64(at: number): [number, number] {
    return [src.readUInt32LE(at), src.readUInt32LE(at + 4)]
  }

  /** Reads one scalar of `kind` at rp (wire type wt) and writes it. Returns false when it is the zero value. */
  function scalar(kind: K, wt: number, end: number, plan: FieldPlan | undefined): boolean {
    switch (kind) {
      case K.String:
      case K.Bytes: {
        if (wt !== 2) throw NEEDS_REFERENCE
        const len = varint(end)
        const s = rp
        const e = s + len
        if (e > end) throw NEEDS_REFERENCE
        rp = e
        if (kind === K.String) jsonString(s, e)
        else ascii(`"${src.toString('base64', s, e)}"`)
        return len !== 0
      }
      case K.Double:
      case K.Float: {
        let v: number
        if (kind === K.Double) {
          if (wt !== 1 || rp + 8 > end) throw NEEDS_REFERENCE
          v = src.readDoubleLE(rp)
          rp += 8
        } else {
          if (wt !== 5 || rp + 4 > end) throw NEEDS_REFERENCE
          v = src.readFloatLE(rp)
          rp += 4
        }
        ascii(Number.isFinite(v) ? JSON.stringify(v) : `"${String(v)}"`)
        return v !== 0
      }
      case K.Fixed32:
      case K.Sfixed32: {
        if (wt !== 5 || rp + 4 > end) throw NEEDS_REFERENCE
        const v = kind === K.Fixed32 ? src.readUInt32LE(rp) : src.readInt32LE(rp)
        rp += 4
        int(v)
        return v !== 0
      }
      case K.Fixed64:
      case K.Sfixed64: {
        if (wt !== 1 || rp + 8 > end) throw NEEDS_REFERENCE
        const [lo, h] = fixed64(rp)
        rp += 8
        ascii(`"${int64Text(lo, h, kind === K.Sfixed64)}"`)
        return lo !== 0 || h !== 0
      }
      default: {
        if (wt !== 0) throw NEEDS_REFERENCE
        const lo = varint(end)
        const h = hi
        switch (kind) {
          case K.Bool: {
            // Any non-zero varint is true (Go's protowire.DecodeBool, and the reference), high bits included.
            const v = lo !== 0 || h !== 0
            ascii(v ? 'true' : 'false')
            return v
          }
          case K.Int32:
            int(lo | 0)
            return (lo | 0) !== 0
          case K.Uint32:
            uint(lo >>> 0)
            return lo !== 0
          case K.Sint32: {
            const v = (lo >>> 1) ^ -(lo & 1)
            int(v)
            return v !== 0
          }
          case K.Enum: {
            const v = lo | 0
            const name = plan!.enumNames!.get(v)
            if (name) constant(name)
            else int(v)
            return v !== 0
          }
          case K.Int64:
          case K.Uint64:
            if (h === 0) {
              byte(0x22)
              uint(lo)
              byte(0x22)
            } else ascii(`"${int64Text(lo, h, kind === K.Int64)}"`)
            return lo !== 0 || h !== 0
          case K.Sint64: {
            // zig-zag: (n >>> 1) ^ -(n & 1) over 64 bits
            const sign = -(lo & 1)
            const l = ((lo >>> 1) | (h << 31)) ^ sign
            const hh = (h >>> 1) ^ sign
            ascii(`"${int64Text(l >>> 0, hh, true)}"`)
            return l !== 0 || hh !== 0
          }
          default:
            throw NEEDS_REFERENCE
        }
      }
    }
  }

  // Timestamp: seconds (int64, 1), nanos (int32, 2).
  function timestamp(s: number, e: number) {
    let secLo = 0
    let secHi = 0
    let nanos = 0
    rp = s
    while (rp < e) {
      const tag = varint(e)
      const wt = tag & 7
      const no = tag >>> 3
      if (no === 1 && wt === 0) {
        secLo = varint(e)
        secHi = hi
      } else if (no === 2 && wt === 0) {
        nanos = varint(e) | 0
      } else skip(wt, e)
    }
    const seconds = secHi * 4294967296 + secLo
    if (secHi < 0 || secHi > 0xffff || seconds > MAX_SECONDS || nanos < 0 || nanos > 999_999_999) throw NEEDS_REFERENCE
  // `"YYYY-MM-DDTHH:MM:SS`: events of one process, container or second share these; a small cache by seconds.
    const slot = seconds & (CIVIL_SLOTS - 1)
    if (civilKey[slot] !== seconds) {
      const p = pos
      civil(seconds)
      for (let i = 0; i < 5; i++) civilText[slot * 5 + i] = outView.getInt32(p + 4 * i, true)
      civilKey[slot] = seconds
    } else {
      if (pos + 20 > out.length) grow(20)
      const ov = outView
      for (let i = 0; i < 5; i++) ov.setInt32(pos + 4 * i, civilText[slot * 5 + i]!, true)
      pos += 20
    }
    if (nanos !== 0) {
      if (nanos % 1_000_000 === 0) frac(nanos / 1_000_000, 3)
      else if (nanos % 1000 === 0) frac(nanos / 1000, 6)
      else frac(nanos, 9)
    }
    ascii('Z"')
  }

  // `"YYYY-MM-DDTHH:MM:SS` of recently seen seconds, by seconds modulo CIVIL_SLOTS.
  var civilKey = new Float64Array(CIVIL_SLOTS).fill(-1)
  /** 20 bytes (5 words) per slot. */
  var civilText = new Int32Array(CIVIL_SLOTS * 5)

  /** v (below 2^31) in exactly n digits, zero-padded. */
  function digits(v: number, n: number) {
    if (pos + n > out.length) grow(n)
    const o = out
    let x = v | 0
    for (let i = pos + n - 1; i >= pos; i--) {
      const q = (x / 10) | 0
      o[i] = 0x30 + (x - q * 10)
      x = q
    }
    pos += n
  }

  function frac(v: number, n: number) {
    byte(0x2e)
    digits(v, n)
  }

  /** `"YYYY-MM-DDTHH:MM:SS` for seconds since the epoch (proleptic Gregorian, days-from-civil inverse). */
  function civil(seconds: number) {
    const days = Math.floor(seconds / 86400)
    let rem = seconds - days * 86400
    const z = days + 719468
    const era = Math.floor(z / 146097)
    const doe = z - era * 146097
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
    const mp = Math.floor((5 * doy + 2) / 153)
    const d = doy - Math.floor((153 * mp + 2) / 5) + 1
    const m = mp < 10 ? mp + 3 : mp - 9
    const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    byte(0x22)
    digits(y, 4)
    byte(0x2d)
    digits(m, 2)
    byte(0x2d)
    digits(d, 2)
    byte(0x54)
    const h = Math.floor(rem / 3600)
    rem -= h * 3600
    const mi = Math.floor(rem / 60)
    digits(h, 2)
    byte(0x3a)
    digits(mi, 2)
    byte(0x3a)
    digits(rem - mi * 60, 2)
  }

  /** A wrapper message's value (field 1), or the wrapped type's zero value. */
  function wrapper(f: FieldPlan, s: number, e: number) {
    // Nearly always just `value` as a varint (key 0x08).
    if (e - s >= 2 && src[s] === 0x08) {
      rp = s + 1
      const lo = varint(e)
      if (rp === e) {
        switch (f.inner) {
          case K.Uint32:
            uint(lo)
            return
          case K.Int32:
            int(lo | 0)
            return
          case K.Bool:
            ascii(lo !== 0 || hi !== 0 ? 'true' : 'false')
            return
          case K.Int64:
          case K.Uint64:
            if (hi === 0) {
              byte(0x22)
              uint(lo)
              byte(0x22)
              return
            }
        }
      }
    }
    let at = -1
    let atWt = 0
    rp = s
    while (rp < e) {
      const tag = varint(e)
      const wt = tag & 7
      if (tag >>> 3 === 1) {
        at = rp
        atWt = wt
      }
      skip(wt, e)
    }
    if (at < 0) {
      ascii(f.inner === K.Int64 || f.inner === K.Uint64 ? '"0"' : f.inner === K.Bool ? 'false' : f.inner === K.String || f.inner === K.Bytes ? '""' : '0')
      return
    }
    rp = at
    scalar(f.inner, atWt, e, f)
  }

  function skip(wt: number, end: number) {
    switch (wt) {
      case 0:
        varint(end)
        break
      case 1:
        rp += 8
        break
      case 2: {
        const len = varint(end)
        rp += len
        break
      }
      case 5:
        rp += 4
        break
      default:
        throw NEEDS_REFERENCE // groups (3, 4) and invalid wire types
    }
    if (rp > end) throw NEEDS_REFERENCE
  }

  /** Writes one value of a field (message, Timestamp, wrapper or scalar) from its record src[s, e) of wire type wt. */
  function element(f: FieldPlan, kind: K, s: number, e: number, wt: number) {
    if (kind === K.Message || kind === K.Timestamp || kind === K.Wrapper) {
      if (wt !== 2) throw NEEDS_REFERENCE
      rp = s
      const len = varint(e)
      const bs = rp
      const be = bs + len
      if (be > e) throw NEEDS_REFERENCE
      if (kind === K.Message) message(f.message!, bs, be)
      else if (kind === K.Timestamp) timestamp(bs, be)
      else wrapper(f, bs, be)
      return
    }
    rp = s
    scalar(kind, wt, e, f)
  }

  /** The top-level message's `event` oneof member (index in its plan), or -1. */
  var eventField = -1
  var lastMark = 0
  var topPlan: MessagePlan | undefined

  /**
   * Writes the message in src[start, end) as a JSON object: in one pass when its records come in declaration order
   * (what protobufjs writes, and Go for messages declared in field-number order), else in two.
   */
  function message(plan: MessagePlan, start: number, end: number) {
    const mark = pos
    const occMark = occTop
    if (plan.oneofCount <= 31 && onePass(plan, start, end)) return
    pos = mark
    occTop = occMark
    twoPass(plan, start, end)
  }

  /** One pass: emit each record as it comes; false (output to be discarded) when the order does not allow it. */
  function onePass(plan: MessagePlan, start: number, end: number): boolean {
    byte(0x7b)
    let eventMember = -1
    let first = true
    let last = -1
    let oneofs = 0
    rp = start
    while (rp < end) {
      // Keys of fields 1-15 are one byte.
      let tag = src[rp]!
      if (tag < 0x80) rp++
      else tag = varint(end)
      const no = tag >>> 3
      const wt = tag & 7
      const idx = no < 4096 ? plan.small[no]! : (plan.large.get(no) ?? -1)
      if (idx < 0) {
        skip(wt, end) // unknown field: skipped, as the reference does
        continue
      }
      // Out of declaration order, or a singular field twice: the two-pass walk decides.
      if (idx <= last) return false
      last = idx
      const f = plan.fields[idx]!
      if (f.oneof >= 0) {
        const bit = 1 << f.oneof
        if ((oneofs & bit) !== 0) return false
        oneofs |= bit
        if (f.oneof === plan.eventOneof) eventMember = idx
      }
      const s = rp
      const k = f.kind
      if (wt === 2 && !f.repeated && (k === K.String || k === K.Message || k === K.Timestamp || k === K.Wrapper)) {
        // The common records, written straight from their bytes.
        if (rp >= end) throw NEEDS_REFERENCE
        let len = src[rp]!
        if (len < 0x80) rp++
        else len = varint(end)
        const vs = rp
        const ve = vs + len
        if (ve > end) throw NEEDS_REFERENCE
        if (k === K.String && len === 0 && !f.presence) {
          rp = ve
          continue
        }
        if (!first) byte(0x2c)
        first = false
        constant(f.key)
        if (k === K.String) jsonString(vs, ve)
        else if (k === K.Message) message(f.message!, vs, ve)
        else if (k === K.Timestamp) timestamp(vs, ve)
        else wrapper(f, vs, ve)
        rp = ve
        continue
      }
      skip(wt, end)
      const e = rp
      const mark = pos
      if (!first) byte(0x2c)
      constant(f.key)
      if (f.repeated || f.kind === K.Map) {
        // This record and the ones right after it with the same number; a later one sends us to the two-pass walk.
        const head = pushOcc(s, e, wt)
        let tail = head
        while (rp < end) {
          const at = rp
          const t = varint(end)
          if (t >>> 3 !== no) {
            rp = at
            break
          }
          const rs = rp
          skip(t & 7, end)
          const o = pushOcc(rs, rp, t & 7)
          occ[tail + 3] = o
          tail = o
        }
        const after = rp
        const wrote = f.kind === K.Map ? map(f, head) : repeated(f, head)
        rp = after
        if (!wrote) {
          pos = mark
          continue
        }
      } else if (f.presence) {
        element(f, f.kind, s, e, wt)
        rp = e
      } else {
        rp = s
        const nonZero = scalar(f.kind, wt, e, f)
        rp = e
        if (!nonZero) {
          pos = mark
          continue
        }
      }
      first = false
    }
    if (plan === topPlan) eventField = eventMember
    byte(0x7d)
    return true
  }

  /** Two passes: where each known field's records are, then the fields in declaration order. */
  function twoPass(plan: MessagePlan, start: number, end: number) {
    const n = plan.fields.length
    const base = slotTop
    const need = base + 2 * n + plan.oneofCount
    if (need > slots.length) {
      const next = new Int32Array(Math.max(need, slots.length * 2))
      next.set(slots)
      slots = next
    }
    slots.fill(0, base, need)
    slotTop = need
    const oneofs = base + 2 * n
    // Pass 1: where each known field's records are.
    rp = start
    while (rp < end) {
      const tag = varint(end)
      const no = tag >>> 3
      const wt = tag & 7
      const s = rp
      skip(wt, end)
      const idx = no < 4096 ? plan.small[no]! : (plan.large.get(no) ?? -1)
      if (idx < 0) continue // unknown field: skipped, as the reference does
      const f = plan.fields[idx]!
      const o = pushOcc(s, rp, wt)
      const h = base + 2 * idx
      if (f.repeated || f.kind === K.Map) {
        if (slots[h] === 0) slots[h] = o
        else occ[slots[h + 1]! + 3] = o
        slots[h + 1] = o
      } else {
        if (slots[h] !== 0 && (f.kind === K.Message || f.kind === K.Timestamp || f.kind === K.Wrapper)) throw NEEDS_REFERENCE
        slots[h] = o
        slots[h + 1] = o
        if (f.oneof >= 0) {
          const seen = slots[oneofs + f.oneof]!
          if (seen !== 0 && seen !== idx + 1) throw NEEDS_REFERENCE
          slots[oneofs + f.oneof] = idx + 1
        }
      }
    }
    if (plan === topPlan && plan.eventOneof >= 0) eventField = slots[oneofs + plan.eventOneof]! - 1
    // Pass 2: declaration order.
    byte(0x7b)
    let first = true
    for (let i = 0; i < n; i++) {
      const head = slots[base + 2 * i]!
      if (head === 0) continue
      const f = plan.fields[i]!
      const mark = pos
      if (!first) byte(0x2c)
      constant(f.key)
      if (f.kind === K.Map) {
        if (!map(f, head)) {
          pos = mark
          continue
        }
      } else if (f.repeated) {
        if (!repeated(f, head)) {
          pos = mark
          continue
        }
      } else if (f.presence) {
        element(f, f.kind, occ[head]!, occ[head + 1]!, occ[head + 2]!)
      } else {
        rp = occ[head]!
        if (!scalar(f.kind, occ[head + 2]!, occ[head + 1]!, f)) {
          pos = mark
          continue
        }
      }
      first = false
    }
    byte(0x7d)
    slotTop = base
  }

  function repeated(f: FieldPlan, head: number): boolean {
    byte(0x5b)
    let count = 0
    for (let o = head; o !== 0; o = occ[o + 3]!) {
      const s = occ[o]!
      const e = occ[o + 1]!
      const wt = occ[o + 2]!
      if (f.packable && wt === 2) {
        rp = s
        const len = varint(e)
        const pe = rp + len
        if (pe > e) throw NEEDS_REFERENCE
        const elemWt = f.kind === K.Double || f.kind === K.Fixed64 || f.kind === K.Sfixed64 ? 1 : f.kind === K.Float || f.kind === K.Fixed32 || f.kind === K.Sfixed32 ? 5 : 0
        while (rp < pe) {
          if (count++ > 0) byte(0x2c)
          scalar(f.kind, elemWt, pe, f)
        }
        continue
      }
      if (count++ > 0) byte(0x2c)
      element(f, f.kind, s, e, wt)
    }
    byte(0x5d)
    return count > 0
  }

  // Map entries of the map being written: [key start, key end, value start, record end, value wire type] each.
  var ents = new Int32Array(5 * 64)
  var order = new Int32Array(64)

  /** Compares two keys' UTF-8 bytes (Go's string order). */
  function keyCompare(a: number, b: number): number {
    const as = ents[5 * a]!
    const ae = ents[5 * a + 1]!
    const bs = ents[5 * b]!
    const be = ents[5 * b + 1]!
    const n = Math.min(ae - as, be - bs)
    for (let i = 0; i < n; i++) {
      const d = src[as + i]! - src[bs + i]!
      if (d !== 0) return d
    }
    return ae - as - (be - bs)
  }

  function map(f: FieldPlan, head: number): boolean {
    const v = f.mapValue!
    let n = 0
    for (let o = head; o !== 0; o = occ[o + 3]!) {
      if (occ[o + 2] !== 2) throw NEEDS_REFERENCE
      rp = occ[o]!
      const len = varint(occ[o + 1]!)
      const ee = rp + len
      if (5 * n + 5 > ents.length) {
        const next = new Int32Array(ents.length * 2)
        next.set(ents)
        ents = next
        order = new Int32Array(ents.length / 5)
      }
      const at = 5 * n
      ents[at] = 0
      ents[at + 1] = 0
      ents[at + 2] = -1
      ents[at + 3] = ee
      ents[at + 4] = 0
      while (rp < ee) {
        const tag = varint(ee)
        const no = tag >>> 3
        const wt = tag & 7
        if (no === 1) {
          if (wt !== 2) throw NEEDS_REFERENCE
          const kl = varint(ee)
          if (rp + kl > ee) throw NEEDS_REFERENCE
          ents[at] = rp
          ents[at + 1] = rp + kl
          // A plain object's prototype setter in a decoded object.
          if (kl === 9 && src.toString('latin1', rp, rp + kl) === '__proto__') throw NEEDS_REFERENCE
          rp += kl
        } else {
          if (no === 2) {
            ents[at + 2] = rp
            ents[at + 4] = wt
          }
          skip(wt, ee)
        }
      }
      order[n] = n
      n++
    }
    if (n === 0) return false
    // Keys in byte order of their UTF-8, as Go's protojson sorts them. (The reference's plain object cannot keep
    // that order for integer-like keys: "10" < "9".) Insertion sort is stable, so of equal keys the last one,
    // which the reference keeps, ends last.
    if (n > 32) {
      order.set(Array.from(order.subarray(0, n)).sort(keyCompare)) // Array#sort is stable too
    } else for (let i = 1; i < n; i++) {
      const x = order[i]!
      let j = i - 1
      while (j >= 0 && keyCompare(order[j]!, x) > 0) {
        order[j + 1] = order[j]!
        j--
      }
      order[j + 1] = x
    }
    byte(0x7b)
    let first = true
    for (let i = 0; i < n; i++) {
      const en = order[i]!
      if (i + 1 < n && keyCompare(order[i + 1]!, en) === 0) continue
      if (!first) byte(0x2c)
      first = false
      const at = 5 * en
      jsonString(ents[at]!, ents[at + 1]!)
      byte(0x3a)
      const vs = ents[at + 2]!
      if (vs < 0) {
        if (v.kind === K.Message || v.kind === K.Timestamp || v.kind === K.Wrapper) throw NEEDS_REFERENCE
        ascii(v.kind === K.String || v.kind === K.Bytes ? '""' : v.kind === K.Bool ? 'false' : v.kind === K.Int64 || v.kind === K.Uint64 || v.kind === K.Sint64 || v.kind === K.Fixed64 || v.kind === K.Sfixed64 ? '"0"' : v.kind === K.Enum ? zeroEnum(v) : '0')
      } else {
        element(v, v.kind, vs, ents[at + 3]!, ents[at + 4]!)
      }
    }
    byte(0x7d)
    return true
  }

  return {
    supported: !plan.unsupported,
    append(msg: Buffer, suffix?: number): string | undefined {
      if (plan.unsupported) throw NEEDS_REFERENCE
      const mark = pos
      lastMark = mark
      src = msg
      if (srcView.buffer !== msg.buffer) srcView = new DataView(msg.buffer)
      srcBase = msg.byteOffset
      occTop = 4
      slotTop = 0
      eventField = -1
      topPlan = plan
      try {
        message(plan, 0, msg.length)
        if (suffix !== undefined) byte(suffix)
      } catch (e) {
        pos = mark
        throw e
      }
      return eventField < 0 ? undefined : plan.fields[eventField]!.name
    },
    toText(msg: Buffer): string {
      const mark = pos
      this.append(msg)
      const s = out.toString('utf8', mark, pos)
      pos = mark
      return s
    },
    discardLast() {
      pos = Math.min(pos, lastMark)
    },
    appendText(s: string) {
      text(s)
    },
    get length() {
      return pos
    },
    take(): Buffer {
      // Hand the bytes over and start a fresh buffer: no copy.
      const b = out.subarray(0, pos)
      setOut(spare.pop() ?? Buffer.allocUnsafeSlow(INITIAL))
      pos = 0
      return b
    },
    recycle(b: Buffer) {
      // take() hands out the start of a buffer of its own (allocUnsafeSlow: not a pool slice).
      if (b.byteOffset !== 0 || b.buffer.byteLength !== INITIAL || spare.length >= 4 || b.buffer === out.buffer) return
      if (spare.some((x) => x.buffer === b.buffer)) return
      spare.push(Buffer.from(b.buffer, 0, INITIAL))
    },
  }
}
