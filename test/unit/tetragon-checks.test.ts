// Pure pieces of the Tetragon checks and of `tetractl events`: Prometheus parsing, agent sampling, version
// classification, the compact line format and the client-side filter.
import {describe, expect, it} from 'vitest'

import {choosePods} from '../../src/checks/tetragon/dropped-events.js'
import {parsePrometheus, total} from '../../src/checks/tetragon/prometheus.js'
import {isUnreleased} from '../../src/checks/tetragon/version.js'
import {classifyServiceProxyError} from '../../src/clients/kube-proxy.js'
import {renderMetrics} from '../../src/lab/tetragon/metrics.js'
import {buildFilter, formatCompact, matches} from '../../src/services/events.js'

describe('Prometheus text parser', () => {
  it('reads labelled samples, escapes and special values; skips comments and counts bad lines', () => {
    const text = [
      '# HELP tetragon_bpf_missed_events_total Events missed.',
      '# TYPE tetragon_bpf_missed_events_total counter',
      'tetragon_bpf_missed_events_total{msg_op="5",error="ENOSPC"} 25000',
      'tetragon_bpf_missed_events_total{msg_op="7",error="E\\"X"} 5 1712345678000',
      'tetragon_observer_ringbuf_events_lost_total 1.8e5',
      'weird{unterminated="x 3',
      'nan_metric NaN',
    ].join('\n')
    const {samples, badLines} = parsePrometheus(text)
    expect(badLines).toBe(1)
    expect(samples[1]).toEqual({name: 'tetragon_bpf_missed_events_total', labels: {msg_op: '7', error: 'E"X'}, value: 5})
    expect(total(samples, 'tetragon_bpf_missed_events_total')).toBe(25005)
    expect(total(samples, 'tetragon_observer_ringbuf_events_lost_total')).toBe(180000)
    expect(total(samples, 'absent')).toBeUndefined()
  })

  it.each(['v0.8.0', 'v0.9.0', 'v0.11.0', 'v1.1.0', 'v1.7.0'])('parses the lab metrics of %s without bad lines', (version) => {
    const text = renderMetrics({version, nodeName: 'n', received: 10, overflowed: 0, dropped: {perfLost: 3}, exported: 1, exportedBytes: 1, lastExportedMs: 0, eventsByType: new Map([['PROCESS_EXEC', 1]]), policies: []})
    const {samples, badLines} = parsePrometheus(text)
    expect(badLines).toBe(0)
    expect(samples.some((s) => /perf_event_lost|events_lost_total/.test(s.name) && s.value === 3)).toBe(true)
  })
})

describe('dropped-events sampling', () => {
  const pod = (i: number, ready = true) => ({name: `tetragon-${i}`, namespace: 'kube-system', node: `node-${i}`, ready, labels: {}, containers: []})
  it('all pods up to 20', () => expect(choosePods(Array.from({length: 20}, (_, i) => pod(i)))).toHaveLength(20))
  it('a sample of 10 plus every not-ready pod (bounded) above 20', () => {
    const pods = [...Array.from({length: 5000}, (_, i) => pod(i)), pod(9001, false), pod(9002, false)]
    const chosen = choosePods(pods)
    expect(chosen.filter((p) => p.ready)).toHaveLength(10)
    expect(chosen.filter((p) => !p.ready).map((p) => p.name)).toEqual(['tetragon-9001', 'tetragon-9002'])
  })
})

describe('versions and the services proxy', () => {
  it.each([
    ['v1.7.0', false],
    ['v1.8.0-pre.0-42-gabc', true],
    ['v1.7.0-12-g1de2ed8', true],
    ['v1.6.1', false],
  ])('%s unreleased: %s', (v, expected) => expect(isUnreleased(v)).toBe(expected))

  it.each([
    ['error trying to reach service: net/http: HTTP/1.x transport connection broken: malformed HTTP response "\\x00\\x00\\x06\\x04"', 'http2'],
    ['error trying to reach service: dial tcp 10.0.0.1:54321: connect: connection refused', 'refused'],
    ['no endpoints available for service "tetragon-grpc"', 'no-endpoints'],
    ['error trying to reach service: dial tcp 10.0.0.1:54321: i/o timeout', 'other'],
  ])('503 %s → %s', (message, kind) => expect(classifyServiceProxyError(503, message).kind).toBe(kind))
})

describe('events: compact form and filters', () => {
  const proc = {binary: '/bin/cat', arguments: '/etc/shadow', pod: {namespace: 'default', name: 'xwing'}}
  it('formats like tetra getevents -o compact (cilium/tetragon pkg/encoder)', () => {
    expect(formatCompact({process_exec: {process: proc}, node_name: 'n'})).toBe('🚀 process default/xwing /bin/cat /etc/shadow')
    expect(formatCompact({process_exit: {process: proc}, node_name: 'n'})).toBe('💥 exit    default/xwing /bin/cat /etc/shadow 0')
    expect(formatCompact({process_exit: {process: proc, signal: 'SIGKILL'}})).toBe('💥 exit    default/xwing /bin/cat /etc/shadow SIGKILL')
    const read = {process_kprobe: {process: proc, function_name: 'security_file_permission', args: [{file_arg: {path: '/etc/shadow'}}, {int_arg: 4}]}}
    expect(formatCompact(read)).toBe('📚 read    default/xwing /bin/cat /etc/shadow')
    // Host processes show the node name (cilium/tetragon pkg/encoder/color.go).
    expect(formatCompact({process_exec: {process: {binary: '/sbin/modprobe', arguments: '-q'}}, node_name: 'node-1'})).toBe('🚀 process node-1 /sbin/modprobe -q')
    expect(formatCompact({process_kprobe: {process: proc, function_name: '__x64_sys_write', args: [{file_arg: {path: '/tmp/x'}}, {}, {size_arg: '12'}]}})).toBe('📝 write   default/xwing /bin/cat /tmp/x 12 bytes')
    expect(formatCompact({lab_future_event: {}})).toBeUndefined()
  })

  it('filters by namespace (empty = host), pod and binary regex, type', () => {
    const {request, filter} = buildFilter({'event-namespace': ['default'], pod: '^xw', binary: 'cat$', type: ['process_exec']}, ['PROCESS_EXEC', 'PROCESS_EXIT'])
    expect(request).toEqual({allow_list: [{namespace: ['default'], pod_regex: ['^xw'], binary_regex: ['cat$'], event_set: ['PROCESS_EXEC']}]})
    expect(matches({process_exec: {process: proc}}, filter)).toBe(true)
    expect(matches({process_exit: {process: proc}}, filter)).toBe(false)
    expect(matches({process_exec: {process: {...proc, pod: {namespace: 'kube-system', name: 'xwing'}}}}, filter)).toBe(false)
    const host = buildFilter({'event-namespace': ['']}, ['PROCESS_EXEC']).filter
    expect(matches({process_exec: {process: {binary: '/sbin/modprobe'}}}, host)).toBe(true)
    expect(matches({process_exec: {process: proc}}, host)).toBe(false)
    expect(() => buildFilter({type: ['PROCESS_DNS']}, ['PROCESS_EXEC'])).toThrow(/Unknown --type PROCESS_DNS/)
  })
})
