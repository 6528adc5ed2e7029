// The wire→JSON transcoder (src/tetragon/wire-json.ts) must print exactly what JSON.stringify of the reference
// decoder (src/tetragon/reference-json.ts, @bufbuild/protobuf) prints, field by field and as text, or hand the message
// back to the reference (NeedsReference).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, test} from 'vitest'
import {encodeEventJson, type JsonObject, type JsonValue} from '../../src/tetragon/json.js'
import {decodeEventBytes} from '../../src/tetragon/reference-json.js'
import {lookupType, protobuf} from '../../src/tetragon/proto.js'
import {NeedsReference, transcoder} from '../../src/tetragon/wire-json.js'

const DIR = fileURLToPath(new URL('../fixtures/tetragon-events', import.meta.url))
const FILES = ['process_exec.jsonl', 'process_exit.jsonl', 'process_kprobe_file.jsonl', 'process_kprobe_misc.jsonl', 'process_throttle.jsonl', 'legacy_preoss_book.jsonl']
const lines = (file: string) =>
  readFileSync(`${DIR}/${file}`, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JsonObject)

const response = () => lookupType('tetragon.GetEventsResponse')

/** Transcoder output for one message, or 'reference' when it declined. */
function viaWire(bytes: Uint8Array): {text: string; event: string | undefined} | 'reference' {
  const t = transcoder(response())
  try {
    const event = t.append(Buffer.from(bytes), 0x0a)
    return {text: t.take().toString('utf8'), event}
  } catch (e) {
    if (e instanceof NeedsReference) {
      expect(t.length).toBe(0) // nothing half-written
      return 'reference'
    }
    throw e
  }
}

const viaReference = (bytes: Uint8Array) => JSON.stringify(decodeEventBytes(Buffer.from(bytes))) + '\n'

/** Walks both values: the same keys in the same order and the same leaves, naming the first field that differs. */
function sameFields(got: JsonValue, want: JsonValue, path: string) {
  if (want === null || typeof want !== 'object') {
    expect(got, path).toStrictEqual(want)
    return
  }
  expect(got !== null && typeof got === 'object' && Array.isArray(got) === Array.isArray(want), `${path}: kind`).toBe(true)
  const g = got as {[k: string]: JsonValue}
  const w = want as {[k: string]: JsonValue}
  expect(Object.keys(g), `${path}: keys`).toEqual(Object.keys(w))
  for (const k of Object.keys(w)) sameFields(g[k]!, w[k]!, Array.isArray(want) ? `${path}[${k}]` : `${path}.${k}`)
}

function sameAsReference(bytes: Uint8Array, label: string) {
  const w = viaWire(bytes)
  expect(w, label).not.toBe('reference')
  const text = (w as {text: string}).text
  sameFields(JSON.parse(text) as JsonValue, decodeEventBytes(Buffer.from(bytes)), label)
  expect(text, label).toBe(viaReference(bytes))
}

describe('wire → JSON transcoder', () => {
  test('the event stream types are all on the fast path', () => {
    expect(transcoder(response()).supported).toBe(true)
  })

  for (const file of FILES) {
    test(`same text as the reference: ${file}`, () => {
      const events = lines(file)
      let known = 0
      events.forEach((ev, i) => {
        const bytes = encodeEventJson(ev)
        const w = viaWire(bytes)
        expect(w, `${file}:${i + 1}`).not.toBe('reference')
        const {text, event} = w as {text: string; event: string | undefined}
        sameFields(JSON.parse(text) as JsonValue, decodeEventBytes(bytes), `${file}:${i + 1}`)
        expect(text, `${file}:${i + 1}`).toBe(viaReference(bytes))
        expect(text.endsWith('}\n')).toBe(true)
        if (event) known++
        // `event` is the event type the line carries, when our proto knows it.
        expect(event, `${file}:${i + 1}`).toBe(Object.keys(JSON.parse(text)).find((k) => !['node_name', 'time', 'aggregation_info', 'cluster_name', 'node_labels'].includes(k)))
      })
      if (file !== 'legacy_preoss_book.jsonl') expect(known).toBe(events.length)
    })
  }

  test('zero values, presence, 64-bit integers, enums, bytes, maps, escapes, non-ASCII', () => {
    const ev: JsonObject = {
      process_kprobe: {
        process: {
          exec_id: 'a"b\\c\n\t\u0001\u001f\u007f', pid: 0, uid: 4294967295, binary: '/bin/ünïcødé 🚀', arguments: '', in_init_tree: false,
          pod: {namespace: 'ns', pod_labels: {zeta: '1', alpha: '', 'é': 'x', 'Z': 'n'}},
          start_time: '2024-02-29T23:59:59.000000001Z',
        },
        args: [
          {size_arg: '18446744073709551615'}, {long_arg: '-5'}, {long_arg: '-9223372036854775808'}, {int_arg: -1}, {int_arg: 0},
          {bytes_arg: 'AAEC/w=='}, {string_arg: ''}, {uint_arg: 4294967295}, {size_arg: '9007199254740993'},
        ],
        action: 'KPROBE_ACTION_POST',
        return_action: 'KPROBE_ACTION_UNKNOWN',
      },
      node_name: 'n',
      time: '1970-01-01T00:00:00.100Z',
      node_labels: {b: '2', a: '1'},
    }
    sameAsReference(encodeEventJson(ev), 'mixed')
  })

  test('map keys in UTF-8 byte order, as Go sorts them, even integer-like ones', () => {
    const w = viaWire(encodeEventJson({process_exec: {process: {pod: {pod_labels: {'9': 'm', b: '', '10': 'n', 'é': 'x', '\uffff': 'y', '😀': 'z'}}}}}))
    expect(w).not.toBe('reference')
    // A JavaScript object always lists integer-like keys first in numeric order, so only the text can show this.
    expect((w as {text: string}).text).toContain('"pod_labels":{"10":"n","9":"m","b":"","é":"x","\uffff":"y","😀":"z"}')
  })

  test('timestamps at the edges of the fast range', () => {
    for (const time of ['1970-01-01T00:00:00Z', '2000-02-29T12:00:00.123456Z', '2100-03-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2023-10-06T22:03:57.700327580Z', '2106-02-07T06:28:16Z']) {
      sameAsReference(encodeEventJson({process_exit: {status: 1}, time}), time)
    }
  })

  test('the per-second date cache: seconds that share a slot, and repeats, render right', () => {
    const t = transcoder(response())
    const times: string[] = []
    for (let i = 0; i < 300; i++) {
      // Steps of 64 s share a cache slot; every value comes twice so both the miss and the hit are checked.
      const ms = Date.UTC(2024, 0, 1) + Math.floor(i / 2) * 64_000 + (i % 7) * 86_400_000
      times.push(new Date(ms).toISOString().replace('.000Z', 'Z'))
    }
    for (const time of times) t.append(Buffer.from(encodeEventJson({process_exit: {status: 1}, time})), 0x0a)
    const got = t.take().toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l).time)
    expect(got).toEqual(times)
  })

  test('unknown fields are skipped, unknown enum numbers stay numbers, last scalar wins, repeated records join', () => {
    const w = protobuf.Writer.create()
    // process_exit (5) { status (4) = 1, status = 2 (last wins), field 99 (unknown) }
    const exit = protobuf.Writer.create().uint32((4 << 3) | 0).uint32(1).uint32((4 << 3) | 0).uint32(2).uint32((99 << 3) | 2).string('x').finish()
    w.uint32((5 << 3) | 2).bytes(exit)
    // process_kprobe is another oneof member: not here. node_name = "n"; unknown top-level 77
    w.uint32((1000 << 3) | 2).string('n').uint32((77 << 3) | 0).uint32(5)
    sameAsReference(w.finish(), 'unknown fields')

    // KprobeArgument bpf_cmd_arg (28, enum) = 99, outside BpfCmd, in ProcessKprobe.args (4) twice
    const arg = protobuf.Writer.create().uint32((28 << 3) | 0).uint32(99).finish()
    const kp = protobuf.Writer.create().uint32((4 << 3) | 2).bytes(arg).uint32((4 << 3) | 2).bytes(arg).finish()
    sameAsReference(protobuf.Writer.create().uint32((9 << 3) | 2).bytes(kp).finish(), 'unknown enum, repeated records')
  })

  test('a bool varint with only high bits set is true', () => {
    // Process.in_init_tree (20, BoolValue) = 2^32: Go's protowire.DecodeBool and the reference test all 64 bits.
    const high = protobuf.Writer.create().uint32((1 << 3) | 0).uint64(2 ** 32).finish()
    const proc = protobuf.Writer.create().uint32((20 << 3) | 2).bytes(high).finish()
    const exec = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(proc).finish()
    const bytes = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(exec).finish()
    sameAsReference(bytes, 'bool high bits')
    expect(viaReference(bytes)).toContain('"in_init_tree":true')
  })

  test('packed and unpacked repeated scalars', () => {
    const t = lookupType('tetragon.Capabilities')
    const field = t.fieldsArray.find((f) => f.repeated)!
    // Capabilities.permitted: repeated enum; packed and unpacked records both decode.
    const packed = protobuf.Writer.create().uint32((field.id << 3) | 2).fork().uint32(1).uint32(21).ldelim().uint32((field.id << 3) | 0).uint32(2).finish()
    const proc = protobuf.Writer.create().uint32((lookupType('tetragon.Process').fields.cap!.id << 3) | 2).bytes(packed).finish()
    const exec = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(proc).finish()
    sameAsReference(protobuf.Writer.create().uint32((1 << 3) | 2).bytes(exec).finish(), 'packed')
  })

  test('what the reference must decide is handed back, with nothing written', () => {
    const twoMembers = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(new Uint8Array()).uint32((5 << 3) | 2).bytes(new Uint8Array()).finish()
    expect(viaWire(twoMembers)).toBe('reference')
    const truncated = protobuf.Writer.create().uint32((1000 << 3) | 2).string('node-name').finish().subarray(0, 5)
    expect(viaWire(truncated)).toBe('reference')
    const group = Uint8Array.from([(7 << 3) | 3, (7 << 3) | 4])
    expect(viaWire(group)).toBe('reference')
    // A string field (node_name) that is not UTF-8: Go's proto.Unmarshal refuses it, and so does the reference.
    const notUtf8 = protobuf.Writer.create().uint32((1000 << 3) | 2).bytes(Uint8Array.from([0x6e, 0xc3, 0x28])).finish()
    expect(viaWire(notUtf8)).toBe('reference')
    expect(() => decodeEventBytes(notUtf8)).toThrow(/utf-8/i)
    const beforeEpoch = encodeEventJson({process_exit: {status: 1}, time: '1969-12-31T23:59:59Z'})
    expect(viaWire(beforeEpoch)).toBe('reference')
    expect(viaReference(beforeEpoch)).toContain('1969-12-31T23:59:59Z')
  })

  test('many messages into one buffer, across buffer growth', () => {
    const t = transcoder(response())
    const bytes = Buffer.from(encodeEventJson(lines('process_exec.jsonl')[0]!))
    for (let i = 0; i < 2000; i++) t.append(bytes, 0x0a)
    const text = t.take().toString('utf8').split('\n')
    expect(text).toHaveLength(2001)
    expect(new Set(text.slice(0, 2000)).size).toBe(1)
    expect(text[0] + '\n').toBe(viaReference(bytes))
    expect(t.length).toBe(0)
  })

  test('the event type of each message, and dropping the last one', () => {
    const t = transcoder(response())
    const exec = Buffer.from(encodeEventJson({process_exec: {process: {binary: '/bin/true'}}, node_name: 'n'}))
    const exit = Buffer.from(encodeEventJson({process_exit: {status: 1}, node_name: 'n'}))
    const none = Buffer.from(encodeEventJson({node_name: 'n'}))
    expect(t.append(exec, 0x0a)).toBe('process_exec')
    expect(t.append(exit, 0x0a)).toBe('process_exit')
    t.discardLast()
    expect(t.append(none, 0x0a)).toBeUndefined()
    t.discardLast()
    expect(t.take().toString()).toBe(viaReference(exec))
  })

  test('two transcoders interleaved write what each writes alone: every instance keeps its own state', () => {
    const events = [...lines('process_exec.jsonl'), ...lines('process_kprobe_misc.jsonl')].map((ev) => Buffer.from(encodeEventJson(ev)))
    const alone = (msgs: Buffer[]) => {
      const t = transcoder(response())
      for (const m of msgs) t.append(m, 0x0a)
      return t.take().toString('utf8')
    }
    const even = alone(events.filter((_, i) => i % 2 === 0))
    const odd = alone(events.filter((_, i) => i % 2 === 1))
    const a = transcoder(response())
    const b = transcoder(response())
    events.forEach((m, i) => {
      const t = i % 2 === 0 ? a : b
      t.append(m, 0x0a)
      // Dropping one instance's last event leaves the other's text alone.
      if (i === 3) {
        t.append(events[0]!, 0x0a)
        t.discardLast()
      }
    })
    expect(a.length).toBe(Buffer.byteLength(even))
    expect(b.length).toBe(Buffer.byteLength(odd))
    expect(a.take().toString('utf8')).toBe(even)
    expect(b.take().toString('utf8')).toBe(odd)
  })

  test('a recycled buffer is filled again from its start, with nothing of the old text left', () => {
    const t = transcoder(response())
    const a = Buffer.from(encodeEventJson({process_exit: {status: 1}, node_name: 'first-node-with-a-long-name'}))
    const b = Buffer.from(encodeEventJson({process_exit: {status: 2}, node_name: 'n'}))
    t.append(a, 0x0a)
    const first = t.take()
    expect(first.toString()).toBe(viaReference(a))
    t.recycle(first)
    t.take() // the buffer taken after `first`; the next appends go to `first`'s memory
    t.append(b, 0x0a)
    const again = t.take()
    expect(again.buffer).toBe(first.buffer)
    expect(again.toString()).toBe(viaReference(b))
  })
})
