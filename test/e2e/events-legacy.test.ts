// `tetractl events` against agents older than the current proto (issue #10 item 6): v0.8.0 speaks its own API and
// every agent before v1.1.0 sends Pod field 3 as `labels` (repeated string), the number v1.6.0 reused for `uid`
// (cilium/tetragon api/v1/tetragon/tetragon.proto at v0.8.0, v1.1.0, v1.6.0). Every fixture line goes through a lab agent of that version and the built CLI,
// and the printed event is compared field by field with what that agent's API can carry.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startTetragonAgent, type TetragonAgent} from '../../src/lab/tetragon/agent.js'
import type {JsonObject, JsonValue} from '../../src/tetragon/json.js'
import {FIXTURES, runCli} from '../helpers.js'

const DIR = join(FIXTURES, 'tetragon-events')
/** Every line of the open-source fixture files (the pre-OSS book holds non-OSS types, see SOURCES.md). */
const LINES: Array<{where: string; event: JsonObject}> = readdirSync(DIR)
  .filter((f) => f.endsWith('.jsonl') && !f.startsWith('legacy_'))
  .sort()
  .flatMap((f) =>
    readFileSync(join(DIR, f), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l, i) => {
      const ev = JSON.parse(l) as JsonObject
      // Fixed node_name and time, so the agent adds nothing of its own.
      return {where: `${f}:${i + 1}`, event: {...ev, node_name: ev.node_name ?? 'node-x', time: ev.time ?? '2024-01-01T00:00:00Z'}}
    }),
  )

// The v0.8.0 API, message by message: the fields of cilium/tetragon v0.8.0 api/v1/tetragon/{tetragon,events}.proto
// (field → the message it holds, or null for a scalar / enum / well-known type).
type Fields = Record<string, string | null>
const V080: Record<string, Fields> = {
  GetEventsResponse: {process_exec: 'ProcessExec', process_exit: 'ProcessExit', process_kprobe: 'ProcessKprobe', process_tracepoint: 'ProcessTracepoint', node_name: null, time: null},
  ProcessExec: {process: 'Process', parent: 'Process', ancestors: 'Process'},
  ProcessExit: {process: 'Process', parent: 'Process', signal: null, status: null},
  ProcessKprobe: {process: 'Process', parent: 'Process', function_name: null, args: 'KprobeArgument', return: 'KprobeArgument', action: null},
  ProcessTracepoint: {process: 'Process', parent: 'Process', subsys: null, event: null, args: 'KprobeArgument'},
  Process: {
    exec_id: null, pid: null, uid: null, cwd: null, binary: null, arguments: null, flags: null, start_time: null, auid: null, pod: 'Pod',
    docker: null, parent_exec_id: null, refcnt: null, cap: 'Capabilities', ns: 'Namespaces',
  },
  // pod_labels (5) came in v0.8.1: a v0.8.0 agent sends the labels as `labels` (3) instead.
  Pod: {namespace: null, name: null, container: 'Container'},
  Container: {id: null, name: null, image: 'Image', start_time: null, pid: null, maybe_exec_probe: null},
  Image: {id: null, name: null},
  Capabilities: {permitted: null, effective: null, inheritable: null},
  Namespaces: Object.fromEntries(['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user'].map((k) => [k, 'Namespace'])),
  Namespace: {inum: null, is_host: null},
  KprobeArgument: {
    string_arg: null, int_arg: null, size_arg: null, bytes_arg: null, path_arg: 'KprobeFile', file_arg: 'KprobeFile',
    truncated_bytes_arg: 'KprobeTruncatedBytes', sock_arg: 'KprobeSock', cred_arg: 'Capabilities',
  },
  KprobeFile: {mount: null, path: null, flags: null},
  KprobeTruncatedBytes: {bytes_arg: null, orig_size: null},
  KprobeSock: {family: null, type: null, protocol: null, mark: null, priority: null, saddr: null, daddr: null, sport: null, dport: null},
}

/** What a v0.8.0 agent can say of an event: its fields only, pod labels as `key=value` strings in `labels`. */
function asV080(value: JsonValue, type: string): JsonValue {
  if (Array.isArray(value)) return value.map((v) => asV080(v, type))
  if (value === null || typeof value !== 'object') return value
  const fields = V080[type]!
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(value)) {
    if (!(k in fields)) continue
    out[k] = fields[k] ? asV080(v, fields[k]!) : v
  }
  if (type === 'Pod' && value.pod_labels) out.labels = Object.entries(value.pod_labels as Record<string, string>).map(([k, v]) => `${k}=${v}`)
  return out
}

const kindOf = (ev: JsonObject) => Object.keys(ev).find((k) => k.startsWith('process_'))!

async function streamTo(agent: TetragonAgent, args: string[], events: JsonObject[]): Promise<JsonObject[]> {
  const before = agent.streamsOpened()
  const run = runCli(['events', '--tetragon-address', `127.0.0.1:${(agent.grpc as {port: number}).port}`, '--grpc-timeout', '10s', ...args], {timeoutMs: 60_000})
  const end = Date.now() + 30_000
  while (agent.streamsOpened() === before || agent.listenerCount() === 0) {
    if (Date.now() > end) throw new Error('no GetEvents stream opened')
    await new Promise((r) => setTimeout(r, 20))
  }
  for (const e of events) agent.emit(e)
  const res = await run
  expect(res.code, res.stderr).toBe(0)
  return res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as JsonObject)
}

describe('events against a v0.8.0 agent', () => {
  let agent: TetragonAgent
  beforeAll(async () => {
    agent = await startTetragonAgent({version: 'v0.8.0', nodeName: 'node-1', serverAddress: 'localhost:54321', healthPort: null, metricsPort: null, backgroundIntervalMs: 0})
  })
  afterAll(() => agent?.stop())

  // v0.8.0 carries exec, exit, kprobe and tracepoint events: the throttle lines are not sent.
  const carried = LINES.filter((l) => ['process_exec', 'process_exit', 'process_kprobe', 'process_tracepoint'].includes(kindOf(l.event)))

  it.each([
    ['-o json (wire transcoder)', ['-o', 'json']],
    ['-o json with a client-side filter (reference decoder)', ['-o', 'json', '--binary', '.']],
  ])('%s: every fixture line, field by field; labels in pod.labels, nothing in pod.uid', async (_name, args) => {
    expect(carried.length).toBeGreaterThan(15)
    const out = await streamTo(agent, [...args, '--count', String(carried.length)], carried.map((l) => l.event))
    expect(out).toHaveLength(carried.length)
    carried.forEach((l, i) => {
      expect(out[i], l.where).toEqual(asV080(l.event, 'GetEventsResponse'))
      const pod = (out[i]![kindOf(l.event)] as any).process?.pod
      if (pod) expect(pod.uid, l.where).toBeUndefined()
    })
    // The lines that carry pod labels are the point of the test.
    expect(out.filter((o) => (o[kindOf(o)] as any).process?.pod?.labels?.length).length).toBeGreaterThan(5)
  })

  it('--type PROCESS_EXIT asks with v0.8.0\'s own EventType numbers (7, not 5) and gets exits', async () => {
    const exits = carried.filter((l) => kindOf(l.event) === 'process_exit')
    const out = await streamTo(agent, ['-o', 'json', '--type', 'PROCESS_EXIT', '--count', String(exits.length)], carried.map((l) => l.event))
    expect(out.map(kindOf)).toEqual(exits.map((l) => 'process_exit'))
    expect(out).toEqual(exits.map((l) => asV080(l.event, 'GetEventsResponse')))
  })
})

describe('events against a v1.0.3 agent (Pod field 3 was labels until v1.1.0)', () => {
  let agent: TetragonAgent
  beforeAll(async () => {
    agent = await startTetragonAgent({version: 'v1.0.3', nodeName: 'node-1', serverAddress: 'localhost:54321', healthPort: null, metricsPort: null, backgroundIntervalMs: 0})
  })
  afterAll(() => agent?.stop())

  it('pod.labels and pod.pod_labels both printed, pod.uid never', async () => {
    const withLabels = LINES.filter((l) => (l.event[kindOf(l.event)] as any).process?.pod?.pod_labels)
    expect(withLabels.length).toBeGreaterThan(5)
    const out = await streamTo(agent, ['-o', 'json', '--count', String(withLabels.length)], withLabels.map((l) => l.event))
    withLabels.forEach((l, i) => {
      const want = (l.event[kindOf(l.event)] as any).process.pod
      const got = (out[i]![kindOf(l.event)] as any).process.pod
      expect(got.uid, l.where).toBeUndefined()
      expect(got.pod_labels, l.where).toEqual(want.pod_labels)
      expect(got.labels, l.where).toEqual(Object.entries(want.pod_labels).map(([k, v]) => `${k}=${v}`))
      expect(got.name, l.where).toBe(want.name)
    })
  })
})
