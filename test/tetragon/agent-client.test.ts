// tetractl's real Tetragon client against the lab agent over real sockets.
import {afterEach, describe, expect, test} from 'vitest'
import {connectTetragon, infoConfig, TetragonError, type TetragonClient} from '../../src/clients/tetragon.js'
import {startTetragonAgent, type TetragonAgent, type TetragonAgentOptions} from '../../src/lab/tetragon/agent.js'
import {collect, tcpAddress, waitFor} from './helpers.js'

const agents: TetragonAgent[] = []
const clients: TetragonClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const a of agents.splice(0)) await a.stop()
})

async function start(o: Partial<TetragonAgentOptions> = {}): Promise<{agent: TetragonAgent; client: TetragonClient}> {
  const agent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'node-1', serverAddress: '0.0.0.0:54321', backgroundIntervalMs: 0, ...o})
  agents.push(agent)
  const client = connectTetragon({address: tcpAddress(agent)}, {timeoutMs: 2000})
  clients.push(client)
  return {agent, client}
}

const pod = {namespace: 'default', podName: 'tetractl-probe-1', containerName: 'probe', nodeName: 'node-1'}

describe('unary RPCs per version', () => {
  test.each(['v0.8.0', 'v0.9.0', 'v1.0.0', 'v1.6.1', 'v1.7.0', 'v1.8.0-pre.0-12-gabcdef0'])('GetVersion %s', async (version) => {
    const {client} = await start({version})
    expect(await client.getVersion()).toBe(version)
    expect(await client.getHealth()).toEqual({health_status: [{event: 'HEALTH_STATUS_TYPE_STATUS', status: 'HEALTH_STATUS_RUNNING', details: 'running'}]})
  })

  test('GetInfo on v1.7.0 carries the configuration; v1.6.1 answers UNIMPLEMENTED → undefined', async () => {
    const {client} = await start({version: 'v1.7.0', serverAddress: 'localhost:54321'})
    const info = await client.getInfo()
    expect(info).toMatchObject({version: 'v1.7.0', name: 'tetragon', build: {commit: '1de2ed8ebea18e56257dc59597aa13bf8f0e471e'}})
    const conf = infoConfig(info!)
    expect(conf['server-address']).toBe('localhost:54321')
    expect(conf['event-queue-size']).toBe('10000') // Int64Value → string
    expect(conf['enable-process-cred']).toBe(false)
    expect(conf['enable-ancestors']).toEqual([])
    const old = await start({version: 'v1.6.1'})
    expect(await old.client.getInfo()).toBeUndefined()
  })

  test('ListTracingPolicies: v1.7.0 states, v0.9.0 packed info, v0.8.0 UNIMPLEMENTED', async () => {
    const {client} = await start({policies: ['network', 'file']})
    const list = await client.listTracingPolicies()
    expect(list.map((p) => p.name)).toEqual(['connect', 'file-monitoring-filtered'])
    expect(list[0]).toMatchObject({id: '1', state: 'TP_STATE_ENABLED', mode: 'TP_MODE_ENFORCE', enabled: true})
    const v09 = await start({version: 'v0.9.0', policies: ['network']})
    const l09 = await v09.client.listTracingPolicies()
    expect(l09).toEqual([{id: '1', name: 'connect', info: 'connect enabled:true filterID:0 error:<nil>', sensors: ['generic_kprobe']}])
    const v08 = await start({version: 'v0.8.0'})
    const err = await v08.client.listTracingPolicies().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TetragonError)
    expect((err as TetragonError).kind).toBe('unimplemented')
  })
})

describe('gRPC health service', () => {
  test('liveness SERVING, NOT_SERVING when failing, SERVICE_UNKNOWN for others', async () => {
    const {agent, client} = await start()
    const healthAddr = `127.0.0.1:${agent.healthPort}`
    expect(await client.health('liveness', healthAddr)).toBe('SERVING')
    expect(await client.health('nope', healthAddr)).toBe('SERVICE_UNKNOWN')
    agent.setLivenessFailing(true)
    expect(await client.health('liveness', healthAddr)).toBe('NOT_SERVING')
    const failing = await start({livenessFailing: true})
    expect(await failing.client.health('liveness', `127.0.0.1:${failing.agent.healthPort}`)).toBe('NOT_SERVING')
    // The API port does not serve grpc.health.v1 (a separate server, --health-server-address).
    const e = await client.health('liveness').catch((x: unknown) => x)
    expect((e as TetragonError).kind).toBe('unimplemented')
  })
})

describe('GetEvents', () => {
  test('namespace + pod filter receives exec/exit/kprobe from execInPod, nothing else', async () => {
    const {agent, client} = await start({policies: ['network', 'file'], backgroundIntervalMs: 5})
    const events = await collect(
      client, agent,
      {allow_list: [{namespace: ['default'], pod_regex: ['^tetractl-probe-1$']}]},
      () => {
        agent.execInPod({...pod, podName: 'other-pod', argv: ['whoami']})
        agent.execInPod({...pod, nodeName: 'node-2', argv: ['whoami']}) // another node's process: not seen
        agent.execInPod({...pod, argv: ['whoami']})
        agent.execInPod({...pod, argv: ['curl', 'http://10.96.0.10/']})
        agent.execInPod({...pod, argv: ['sh', '-c', 'cat /etc/shadow']})
      },
      (ev) => ev.length >= 12,
    )
    const summary = events.map((e) => {
      const kind = Object.keys(e.json).find((k) => k.startsWith('process_'))!
      const body = e.json[kind] as Record<string, any>
      return `${kind} ${body.process.binary}${body.function_name ? ' ' + body.function_name : ''}`
    })
    expect(summary).toEqual([
      'process_exec /usr/bin/whoami',
      'process_exit /usr/bin/whoami',
      'process_exec /usr/bin/curl',
      'process_kprobe /usr/bin/curl tcp_connect',
      'process_kprobe /usr/bin/curl tcp_sendmsg',
      'process_kprobe /usr/bin/curl tcp_close',
      'process_exit /usr/bin/curl',
      'process_exec /bin/sh',
      'process_exec /bin/cat',
      'process_kprobe /bin/cat security_file_permission',
      'process_exit /bin/cat',
      'process_exit /bin/sh',
    ])
    for (const e of events) {
      expect(e.unknown.clean).toBe(true)
      expect(e.json.node_name).toBe('node-1')
      expect(e.raw.length).toBeGreaterThan(100)
    }
    const exec = events[0]!.json.process_exec as Record<string, any>
    const exit = events[1]!.json.process_exit as Record<string, any>
    expect(exit.process.exec_id).toBe(exec.process.exec_id)
    expect(Buffer.from(exec.process.exec_id, 'base64').toString()).toMatch(/^node-1:\d+:\d+$/)
    expect(exec.process.pod).toMatchObject({namespace: 'default', name: 'tetractl-probe-1', container: {name: 'probe'}})
    expect(exec.parent.binary).toBe('/usr/bin/containerd-shim-runc-v2')
    expect(exit.status).toBeUndefined() // exit 0 → no status key
    const connect = events[3]!.json.process_kprobe as Record<string, any>
    expect(connect).toMatchObject({policy_name: 'connect', action: 'KPROBE_ACTION_POST', args: [{sock_arg: {family: 'AF_INET', type: 'SOCK_STREAM', protocol: 'IPPROTO_TCP', daddr: '10.96.0.10', dport: 80, state: 'TCP_SYN_SENT'}}]})
    expect(typeof connect.args[0].sock_arg.cookie).toBe('string') // uint64 → string
    const read = events[9]!.json.process_kprobe as Record<string, any>
    expect(read).toMatchObject({
      policy_name: 'file-monitoring-filtered', args: [{file_arg: {path: '/etc/shadow'}}, {int_arg: 4}], return: {int_arg: 0},
    })
    expect((events[8]!.json.process_exec as any).parent.binary).toBe('/bin/sh')
  })

  test('no policy → exec/exit only; exit code carried as status', async () => {
    const {agent, client} = await start({policies: []})
    const events = await collect(client, agent, {allow_list: [{pod_regex: ['^tetractl-probe-1$']}]}, () => {
      agent.execInPod({...pod, argv: ['curl', 'http://example.com'], exitCode: 7})
      agent.execInPod({...pod, argv: ['cat', '/etc/shadow']})
    }, (ev) => ev.length >= 4)
    expect(events.map((e) => Object.keys(e.json)[0])).toEqual(['process_exec', 'process_exit', 'process_exec', 'process_exit'])
    expect((events[1]!.json.process_exit as any).status).toBe(7)
  })

  test('deny list and event_set; invalid regex fails the call', async () => {
    const {agent, client} = await start({policies: ['file']})
    const events = await collect(client, agent, {allow_list: [{event_set: ['PROCESS_KPROBE', 'PROCESS_EXIT']}], deny_list: [{binary_regex: ['sh$']}]}, () => {
      agent.execInPod({...pod, argv: ['sh', '-c', 'cat /etc/shadow']})
    }, (ev) => ev.length >= 2, 1500)
    expect(events.map((e) => Object.keys(e.json)[0])).toEqual(['process_kprobe', 'process_exit'])
    const it = client.getEvents({allow_list: [{binary_regex: ['(']}]})
    const err = await it.next().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TetragonError)
    expect((err as TetragonError).message).toMatch(/invalid binary_regex/)
  })

  test('filter fields newer than the agent are ignored: namespace_regex on v1.6.1 matches everything', async () => {
    const {agent, client} = await start({version: 'v1.6.1'})
    const events = await collect(client, agent, {allow_list: [{namespace_regex: ['^nomatch$']}]}, () => {
      agent.execInPod({...pod, argv: ['whoami']})
    }, (ev) => ev.length >= 2, 1500)
    expect(events).toHaveLength(2)
  })

  test('v0.8.0: old EventType numbering, Pod.labels and process_dns are reported', async () => {
    const {agent, client} = await start({version: 'v0.8.0'})
    // PROCESS_EXIT is 5 today; 5 was PROCESS_EXEC in v0.8.0: the old agent sends exec events.
    const events = await collect(client, agent, {allow_list: [{event_set: ['PROCESS_EXIT']}]}, () => {
      agent.execInPod({...pod, argv: ['whoami'], labels: {app: 'probe', team: 'sec'}})
      agent.emit({process_dns: {}, node_name: 'node-1'})
    }, (ev) => ev.length >= 1, 1500)
    expect(events.map((e) => Object.keys(e.json)[0])).toEqual(['process_exec'])
    const anomalies = events[0]!.unknown.anomalies
    expect(anomalies.some((a) => a.problem === 'singular-repeated' && a.message === 'tetragon.Pod' && a.number === 3 && /older than v1\.1\.0/.test(a.detail))).toBe(true)
    expect(events[0]!.unknown.clean).toBe(false)

    const all = await collect(client, agent, {}, () => {
      agent.emit({process_dns: {}, node_name: 'node-1'})
    }, (ev) => ev.length >= 1, 1500)
    expect(all[0]!.unknown.unknownEvent).toMatchObject({number: 14})
    expect(all[0]!.unknown.unknownEvent!.note).toMatch(/v0\.8\.0/)
  })

  test('schemaDrift: unknown field numbers and event type are listed', async () => {
    const {agent, client} = await start({schemaDrift: true, policies: ['network']})
    const events = await collect(client, agent, {allow_list: [{namespace: ['default']}]}, () => {
      agent.execInPod({...pod, argv: ['curl', 'http://10.0.0.1:8080/']})
    }, (ev) => ev.length >= 6, 1500)
    const exec = events.find((e) => e.json.process_exec)!
    expect(exec.unknown.unknownFields.map((u) => `${u.path}#${u.number}`).sort()).toEqual(['#1005', 'process_exec.parent#22', 'process_exec.process#22'])
    const connect = events.find((e) => (e.json.process_kprobe as any)?.function_name === 'tcp_connect')!
    expect(connect.unknown.unknownFields.map((u) => `${u.path}#${u.number}`)).toContain('process_kprobe.args[0].sock_arg#12')
    expect((connect.json.process_kprobe as any).args[0].sock_arg.dport).toBe(8080)
    const future = events.find((e) => e.unknown.unknownEvent)
    expect(future?.unknown.unknownEvent).toMatchObject({number: 30})
    expect(future?.json).toMatchObject({node_name: 'node-1'}) // common keys still decode
  })
})

describe('queues, export, metrics', () => {
  test('a client that does not read loses events beyond the 10,000 queue; counted in the overflow metric', async () => {
    const {agent, client} = await start()
    const it = client.getEvents({})
    const first = it.next() // starts the call, then never reads more
    await waitFor(() => agent.listenerCount() === 1)
    const ev = {process_exec: {process: {binary: '/bin/true', pod: {namespace: 'default', name: 'x'}}}}
    for (let i = 0; i < 15_000; i++) agent.emit(ev)
    expect(agent.overflowed()).toBeGreaterThan(4000)
    expect(agent.overflowed()).toBeLessThanOrEqual(5000)
    const res = await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)
    const text = await res.text()
    expect(text).toContain(`tetragon_notify_overflowed_events_total ${agent.overflowed()}`)
    await first
    await it.return(undefined)
  })

  test('a reading client gets every event (back-pressure, no loss)', async () => {
    const {agent, client} = await start()
    const n = 3000
    const events = await collect(client, agent, {}, async () => {
      for (let i = 0; i < n; i++) {
        agent.emit({process_exec: {process: {binary: '/bin/true', pid: i}}})
        if (i % 500 === 499) await new Promise((r) => setTimeout(r, 5))
      }
    }, (ev) => ev.length >= n, 10_000)
    expect(events).toHaveLength(n)
    expect(agent.overflowed()).toBe(0)
  })

  test('JSON export applies the default filters, the gRPC stream does not', async () => {
    const {agent, client} = await start({policies: []})
    const streamed = await collect(client, agent, {}, () => {
      agent.execInPod({...pod, namespace: 'kube-system', argv: ['whoami']})
      agent.execInPod({...pod, argv: ['whoami']})
      agent.emit({process_throttle: {type: 'THROTTLE_START', cgroup: 'session-1.scope'}})
    }, (ev) => ev.length >= 5, 1500)
    expect(streamed).toHaveLength(5)
    const lines = agent.exportLines().map((l) => JSON.parse(l))
    expect(lines).toHaveLength(2)
    expect(lines.every((l) => l.process_exec?.process.pod.namespace === 'default' || l.process_exit?.process.pod.namespace === 'default')).toBe(true)
    expect(Object.keys(lines[0])[0]).toBe('process_exec') // event key first
  })

  test.each([
    ['v0.8.0', ['isovalent_ringbuf_perf_event_lost 3'], ['tetragon_']],
    ['v0.10.0', ['tetragon_ringbuf_perf_event_lost 3', '# TYPE tetragon_notify_overflowed_events gauge'], ['_total']],
    ['v1.1.0', ['tetragon_ringbuf_perf_event_lost_total 3', 'tetragon_missed_events_total{msg_op="5"} 2', 'tetragon_ratelimit_dropped_total 4'], ['tetragon_observer_']],
    ['v1.2.0', ['tetragon_observer_ringbuf_events_lost_total 3', 'tetragon_bpf_missed_events_total{msg_op="5",error="ENOSPC"} 2', 'tetragon_ratelimit_dropped_total 4'], ['tetragon_export_ratelimit']],
    ['v1.7.0', ['tetragon_observer_ringbuf_events_lost_total 3', 'tetragon_bpf_missed_events_total{msg_op="5",error="ENOSPC"} 2', 'tetragon_export_ratelimit_events_dropped_total 4', 'tetragon_notify_overflowed_events_total 1', 'tetragon_build_info{version="v1.7.0"'], ['tetragon_missed_events_total', 'tetragon_ringbuf_perf_event_lost_total']],
  ])('metric names %s', async (version, present, absent) => {
    const {agent} = await start({version, dropped: {perfLost: 3, bpfMissed: 2, rateLimited: 4, notifyOverflow: 1}})
    const text = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text()
    for (const p of present) expect(text).toContain(p)
    for (const a of absent) expect(text).not.toContain(a)
  })
})

describe('listen addresses', () => {
  test('unix:// listens on a real socket; localhost is loopback-only; empty disables gRPC', async () => {
    const unix = await startTetragonAgent({version: 'v1.7.0', nodeName: 'n', serverAddress: 'unix:///var/run/tetragon/tetragon.sock', backgroundIntervalMs: 0})
    agents.push(unix)
    expect(unix.grpc).toMatchObject({configuredPath: '/var/run/tetragon/tetragon.sock'})
    const socketPath = (unix.grpc as {socketPath: string}).socketPath
    expect(socketPath).toMatch(/tetragon\.sock$/)
    const c = connectTetragon({address: `unix://${socketPath}`}, {timeoutMs: 2000})
    clients.push(c)
    expect(await c.getVersion()).toBe('v1.7.0')

    const lo = await startTetragonAgent({version: 'v1.6.1', nodeName: 'n', serverAddress: 'localhost:54321', backgroundIntervalMs: 0})
    agents.push(lo)
    expect(lo.grpc).toMatchObject({loopbackOnly: true, configuredHost: 'localhost', configuredPort: 54321})
    const any = await startTetragonAgent({version: 'v1.6.1', nodeName: 'n', serverAddress: ':54321', backgroundIntervalMs: 0})
    agents.push(any)
    expect(any.grpc).toMatchObject({loopbackOnly: false, configuredHost: ''})
    const bare = await startTetragonAgent({version: 'v0.8.2', nodeName: 'n', serverAddress: 'localhost', backgroundIntervalMs: 0})
    agents.push(bare)
    expect(bare.grpc).toMatchObject({configuredPort: 54321}) // ":54321" appended
    const none = await startTetragonAgent({version: 'v1.7.0', nodeName: 'n', serverAddress: '', backgroundIntervalMs: 0})
    agents.push(none)
    expect(none.grpc).toBeNull()
  })

  test('background cadence replays fixture events (stream never empty)', async () => {
    const {agent, client} = await start({backgroundIntervalMs: 20})
    const events = await collect(client, agent, {}, () => {}, (ev) => ev.length >= 2, 2000)
    expect(events.length).toBeGreaterThanOrEqual(2)
    expect(events[0]!.json.node_name).toBe('node-1')
  })
})

describe('policies and RPC sets per version', () => {
  test('AddTracingPolicy over gRPC: a minimal /etc/shadow policy names the kprobe; Delete removes it', async () => {
    const {agent, client} = await start({policies: []})
    await client.addTracingPolicy(`apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: tetractl-shadow
  namespace: default
spec:
  kprobes:
  - call: security_file_permission
    syscall: false
    args: [{index: 0, type: file}, {index: 1, type: int}]
    selectors:
    - matchArgs:
      - {index: 0, operator: Prefix, values: [/etc/shadow]}
      - {index: 1, operator: Equal, values: ["4"]}
`)
    expect(agent.policyNames()).toEqual(['tetractl-shadow'])
    const events = await collect(client, agent, {allow_list: [{event_set: ['PROCESS_KPROBE']}]}, () => {
      agent.execInPod({...pod, argv: ['cat', '/etc/passwd']}) // not selected
      agent.execInPod({...pod, namespace: 'other', argv: ['cat', '/etc/shadow']}) // namespaced policy: other namespace
      agent.execInPod({...pod, argv: ['cat', '/etc/shadow']})
    }, (ev) => ev.length >= 1, 1500)
    expect(events).toHaveLength(1)
    expect(events[0]!.json.process_kprobe).toMatchObject({policy_name: 'tetractl-shadow', function_name: 'security_file_permission'})
    const [status] = await client.listTracingPolicies()
    expect(status).toMatchObject({name: 'tetractl-shadow', namespace: 'default', stats: {action_counters: {post: '1'}}})
    await client.deleteTracingPolicy('tetractl-shadow', 'default')
    expect(await client.listTracingPolicies()).toEqual([])
  })

  test('older agents lack newer fields: v0.9.0 kprobe has no policy_name, no tid, no ProcessExit.time on v0.8.3', async () => {
    const {agent, client} = await start({version: 'v0.9.0', policies: ['network']})
    const events = await collect(client, agent, {}, () => {
      agent.execInPod({...pod, argv: ['curl', 'http://1.1.1.1']})
    }, (ev) => ev.length >= 5, 1500)
    const kp = events.find((e) => e.json.process_kprobe)!.json.process_kprobe as any
    expect(kp.function_name).toBe('tcp_connect')
    expect(kp.policy_name).toBeUndefined()
    expect(kp.args[0].sock_arg.cookie).toBeUndefined() // v0.10.0
    expect(kp.process.tid).toBeUndefined() // v0.10.0
    expect((events.find((e) => e.json.process_exit)!.json.process_exit as any).time).toBeDefined() // v0.8.4
    const old = await start({version: 'v0.8.3'})
    const ev2 = await collect(old.client, old.agent, {}, () => void old.agent.execInPod({...pod, argv: ['whoami']}), (ev) => ev.length >= 2, 1500)
    expect((ev2[1]!.json.process_exit as any).time).toBeUndefined()
  })

  test('GetStackTraceTree exists up to v1.6.1 and is UNIMPLEMENTED on v1.7.0', async () => {
    const grpc = await import('@grpc/grpc-js')
    const call = (addr: string) =>
      new Promise<number>((resolve) => {
        const c = new grpc.Client(addr, grpc.credentials.createInsecure())
        c.makeUnaryRequest('/tetragon.FineGuidanceSensors/GetStackTraceTree', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), {deadline: Date.now() + 2000}, (err) => {
          c.close()
          resolve(err ? err.code : 0)
        })
      })
    const v16 = await start({version: 'v1.6.1'})
    expect(await call(tcpAddress(v16.agent))).toBe(0)
    const v17 = await start({version: 'v1.7.0'})
    expect(await call(tcpAddress(v17.agent))).toBe(grpc.status.UNIMPLEMENTED)
  })
})

describe('proxy environment (grpc-js honours *_proxy unless grpc.enable_http_proxy is 0)', () => {
  test('https_proxy/http_proxy/grpc_proxy do not hijack the connection', async () => {
    const {agent} = await start()
    const saved = {https_proxy: process.env.https_proxy, http_proxy: process.env.http_proxy, grpc_proxy: process.env.grpc_proxy, no_proxy: process.env.no_proxy}
    Object.assign(process.env, {https_proxy: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', grpc_proxy: 'http://127.0.0.1:9'})
    delete process.env.no_proxy
    try {
      // Control: a plain grpc-js channel goes through the (dead) proxy and fails.
      const grpc = await import('@grpc/grpc-js')
      const raw = new grpc.Client(tcpAddress(agent), grpc.credentials.createInsecure())
      const code = await new Promise<number>((r) =>
        raw.makeUnaryRequest('/tetragon.FineGuidanceSensors/GetVersion', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), {deadline: Date.now() + 1500}, (e) => r(e ? e.code : 0)),
      )
      raw.close()
      expect(code).not.toBe(0)
      const c = connectTetragon({address: tcpAddress(agent)}, {timeoutMs: 1500})
      clients.push(c)
      expect(await c.getVersion()).toBe('v1.7.0')
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v
    }
  })
})
