// JSON export encoding rules (cilium/tetragon pkg/encoder), the wire-level schema detector, version facts, and proto loading.
import {fileURLToPath} from 'node:url'
import * as protoLoader from '@grpc/proto-loader'
import {describe, expect, test} from 'vitest'
import {encodeEventJson, encodeJson, formatTimestamp, parseTimestamp, type JsonIssue, type JsonObject} from '../../src/tetragon/json.js'
import {decodeEventBytes, decodeToJson} from '../../src/tetragon/reference-json.js'
import {lookupType, protobuf} from '../../src/tetragon/proto.js'
import {describeInspection, inspectEventBytes} from '../../src/tetragon/schema.js'
import {
  apiVariantFor, compareVersions, defaultExportAllowList, filterFieldsIgnoredBy, hasLegacyEventNumbering, hasRpc, lostEventMetricNames, parseVersion,
} from '../../src/tetragon/versions.js'

describe('JSON export encoding rules', () => {
  test('zero values omitted, wrappers kept, int64 as strings, enums as names, bytes base64', () => {
    const ev = {
      process_exit: {
        process: {exec_id: 'eA==', pid: 0, uid: 0, binary: '', in_init_tree: false, refcnt: 0},
        status: 0,
        signal: '',
      },
      node_name: 'n',
      time: '2024-01-02T03:04:05Z',
    }
    const back = decodeEventBytes(encodeEventJson(ev))
    // pid/uid are UInt32Value and in_init_tree BoolValue: emitted when set, even as 0/false. binary, refcnt,
    // status, signal are plain scalars: omitted at zero ("a clean exit 0 has no status key").
    expect(back).toEqual({process_exit: {process: {exec_id: 'eA==', pid: 0, uid: 0, in_init_tree: false}}, node_name: 'n', time: '2024-01-02T03:04:05Z'})

    const k: JsonObject = {process_kprobe: {args: [{size_arg: '18446744073709551615'}, {bytes_arg: 'AAEC'}, {int_arg: 0}, {long_arg: '-5'}], action: 'KPROBE_ACTION_POST', return_action: 'KPROBE_ACTION_UNKNOWN'}}
    const kb = decodeEventBytes(encodeEventJson(k)) as any
    expect(kb.process_kprobe.args).toEqual([{size_arg: '18446744073709551615'}, {bytes_arg: 'AAEC'}, {int_arg: 0}, {long_arg: '-5'}])
    expect(kb.process_kprobe.action).toBe('KPROBE_ACTION_POST')
    expect(kb.process_kprobe.return_action).toBeUndefined() // enum 0 omitted
  })

  test('timestamps: RFC 3339 UTC with 0/3/6/9 fractional digits; offsets normalised', () => {
    expect(formatTimestamp(0, 0)).toBe('1970-01-01T00:00:00Z')
    expect(formatTimestamp(1, 500_000_000)).toBe('1970-01-01T00:00:01.500Z')
    expect(formatTimestamp(1, 1000)).toBe('1970-01-01T00:00:01.000001Z')
    expect(formatTimestamp(1, 1)).toBe('1970-01-01T00:00:01.000000001Z')
    expect(parseTimestamp('2024-01-01T02:00:00.25+02:00')).toEqual({seconds: 1704067200, nanos: 250_000_000})
    expect(parseTimestamp('yesterday')).toBeUndefined()
  })

  test('maps are sorted, unknown enums stay numbers, unknown keys are reported', () => {
    const issues: JsonIssue[] = []
    const bytes = encodeEventJson({process_exec: {process: {pod: {pod_labels: {b: '2', a: '1'}}, bogus: 1}}, node_name: 'n', extra_top: 1}, 'current', issues)
    expect(issues.map((i) => `${i.kind}:${i.path}`)).toEqual(['unknown-event:extra_top', 'unknown-key:process_exec.process.bogus'])
    expect(Object.keys((decodeEventBytes(bytes) as any).process_exec.process.pod.pod_labels)).toEqual(['a', 'b'])
    const t = lookupType('KprobeArgument')
    const w = protobuf.Writer.create()
    w.uint32((28 << 3) | 0).uint32(99) // bpf_cmd_arg = 99, not in BpfCmd
    expect(decodeToJson(t, w.finish())).toEqual({bpf_cmd_arg: 99})
  })

  test('Any (GetInfo conf values) and FieldMask', () => {
    const info = lookupType('GetInfoResponse')
    const json = {version: 'v1.7.0', conf: [
      {key: 'a', value: {'@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'x'}},
      {key: 'b', value: {'@type': 'type.googleapis.com/google.protobuf.Int64Value', value: '10000'}},
      {key: 'c', value: {'@type': 'type.googleapis.com/google.protobuf.ListValue', value: ['p', 'q']}},
    ]}
    expect(decodeToJson(info, encodeJson(info, json))).toEqual(json)
    const req = lookupType('GetEventsRequest')
    const r = {field_filters: [{event_set: ['PROCESS_EXEC'], fields: 'process.binary,parent.execId', action: 'EXCLUDE'}]}
    expect(decodeToJson(req, encodeJson(req, r))).toEqual(r)
  })
})

describe('schema detector', () => {
  test('clean event', () => {
    const i = inspectEventBytes(encodeEventJson({process_exec: {process: {binary: '/x', pod: {namespace: 'd'}}}, node_name: 'n'}))
    expect(i).toMatchObject({event: 'process_exec', clean: true, unknownFields: [], anomalies: []})
  })

  test('unknown nested field numbers and event numbers', () => {
    const base = encodeEventJson({process_exec: {process: {binary: '/x'}}, node_name: 'n'})
    const w = protobuf.Writer.create()
    w.uint32((29 << 3) | 2).fork().uint32((1 << 3) | 2).string('x').ldelim() // process_usdt = 29: known
    w.uint32((31 << 3) | 2).bytes(new Uint8Array([8, 1])) // event #31: unknown
    w.uint32((2000 << 3) | 0).uint32(7) // top-level #2000
    const i = inspectEventBytes(w.finish())
    expect(i.unknownEvent).toMatchObject({number: 31})
    expect(i.unknownFields.map((u) => u.number)).toEqual([2000])
    expect(inspectEventBytes(base).clean).toBe(true)
    const dns = protobuf.Writer.create().uint32((14 << 3) | 2).bytes(new Uint8Array()).finish()
    expect(inspectEventBytes(dns).unknownEvent!.note).toMatch(/process_dns.*v0\.8\.0/)
    expect(describeInspection(inspectEventBytes(dns))[0]).toMatch(/unknown event type #14/)
  })

  test('wire-type mismatch and truncation are anomalies, never exceptions', () => {
    // GetEventsResponse.node_name (1000) is a string; send a varint.
    const bad = protobuf.Writer.create().uint32((1000 << 3) | 0).uint32(5).finish()
    const i = inspectEventBytes(bad)
    expect(i.anomalies[0]).toMatchObject({problem: 'wire-type-mismatch', field: 'node_name'})
    expect(i.clean).toBe(false)
    const full = encodeEventJson({process_exec: {process: {binary: '/usr/bin/something-long'}}})
    const t = inspectEventBytes(full.subarray(0, full.length - 4))
    expect(t.anomalies.some((a) => a.problem === 'truncated')).toBe(true)
    expect(t.decodeError).toBeTruthy()
  })
})

describe('version facts', () => {
  test('parse and compare leniently', () => {
    expect(parseVersion('v1.7.0-pre.0-123-gabcdef')).toMatchObject({major: 1, minor: 7, patch: 0})
    expect(compareVersions('v1.7.0', 'v1.6.1')).toBeGreaterThan(0)
    expect(compareVersions('v1.8.0-pre.0', 'v1.8.0')).toBeLessThan(0)
    expect(compareVersions('v1.7.0-12-gabc', 'v1.7.0')).toBeGreaterThan(0)
    expect(parseVersion('garbage')).toBeUndefined()
  })

  test('RPCs, numbering, filters, export lists, metric names', () => {
    expect(hasRpc('v1.6.1', 'GetInfo')).toBe(false)
    expect(hasRpc('v1.7.0', 'GetInfo')).toBe(true)
    expect(hasRpc('v1.7.0', 'GetStackTraceTree')).toBe(false)
    expect(hasRpc('v1.6.1', 'GetStackTraceTree')).toBe(true)
    expect(hasRpc('v0.8.4', 'ListTracingPolicies')).toBe(false)
    expect(hasLegacyEventNumbering('v0.8.0')).toBe(true)
    expect(hasLegacyEventNumbering('v0.8.1')).toBe(false)
    // Pod field 3: labels until v1.0.3, uid from v1.6.0; v0.8.0 has its own proto.
    expect(['v0.8.0', 'v0.8.1', 'v1.0.3', 'v1.1.0', 'garbage'].map(apiVariantFor)).toEqual(['v0.8.0', 'v1.0', 'v1.0', 'current', 'current'])
    expect(lookupType('Pod', 'v1.0').fields.labels!.id).toBe(3)
    expect(lookupType('Pod', 'v1.0').fields.uid).toBeUndefined()
    expect(filterFieldsIgnoredBy('v1.6.1', {namespace_regex: ['x'], namespace: ['y']})).toEqual(['namespace_regex'])
    expect(defaultExportAllowList('v0.9.0')[0]!.event_set).toEqual(['PROCESS_EXEC', 'PROCESS_EXIT', 'PROCESS_KPROBE'])
    expect(defaultExportAllowList('v1.7.0')[0]!.event_set).toHaveLength(6)
    expect(lostEventMetricNames('v1.2.1').rateLimitDropped).toBe('tetragon_ratelimit_dropped_total')
    expect(lostEventMetricNames('v1.3.0').rateLimitDropped).toBe('tetragon_export_ratelimit_events_dropped_total')
    expect(lostEventMetricNames('v0.8.3').notifyOverflow).toBeUndefined()
    expect(lostEventMetricNames('v0.8.4').notifyOverflow).toBe('tetragon_notify_overflowed_events')
  })
})

describe('proto files', () => {
  test('proto-loader loads them, Google well-known types from protobufjs bundled definitions', () => {
    const dir = fileURLToPath(new URL('../../proto/', import.meta.url))
    const def = protoLoader.loadSync(['tetragon/sensors.proto', 'grpc/health/v1/health.proto'], {includeDirs: [dir], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true})
    const svc = def['tetragon.FineGuidanceSensors'] as Record<string, {path: string; responseStream: boolean}>
    expect(Object.keys(svc)).toHaveLength(17)
    expect(svc.GetEvents).toMatchObject({path: '/tetragon.FineGuidanceSensors/GetEvents', responseStream: true})
    expect(def['google.protobuf.Timestamp']).toBeDefined()
    expect(def['grpc.health.v1.Health']).toBeDefined()
  })

  test('field numbers of the event oneof and common keys', () => {
    const r = lookupType('GetEventsResponse')
    const nums = Object.fromEntries(r.fieldsArray.map((f) => [f.name, f.id]))
    expect(nums).toEqual({
      process_exec: 1, process_exit: 5, process_kprobe: 9, process_tracepoint: 10, process_loader: 11, process_uprobe: 12,
      process_throttle: 27, process_lsm: 28, process_usdt: 29, test: 40000, rate_limit_info: 40001,
      node_name: 1000, time: 1001, aggregation_info: 1002, cluster_name: 1003, node_labels: 1004,
    })
    expect(lookupType('KprobeArgument').fields.sock_arg!.id).toBe(9)
    expect(lookupType('KprobeArgument').fields.label!.partOf).toBeNull()
    expect(lookupType('Pod').fields.uid!.id).toBe(3)
  })
})
