// The gRPC checks' logic against in-memory agents (test/fakes/cluster.ts): how one check combines the agents it
// could reach (a not-ready agent must not hide the others' verdicts), the version ranges, and the policy rules.
// The agents' real gRPC, port-forwards included, runs end to end against the lab (test/e2e/doctor-tetragon.test.ts).
import {describe, expect, it} from 'vitest'

import type {DoctorOptions} from '../../src/checks/context.js'
import {grpcReachable} from '../../src/checks/tetragon/grpc-reachable.js'
import {tetragonLiveness} from '../../src/checks/tetragon/liveness.js'
import {tetragonPolicies} from '../../src/checks/tetragon/policies.js'
import {tetragonVersion} from '../../src/checks/tetragon/version.js'
import {TetragonError} from '../../src/clients/tetragon.js'
import {ForbiddenError} from '../../src/engine/errors.js'
import type {Check} from '../../src/engine/types.js'
import type {CheckContext} from '../../src/checks/context.js'
import {agentDaemonSet, agentPod, FakeCluster, fakeCheckContext, grpcService, tetragonConfig, withAgents, type FakeAgent} from '../fakes/cluster.js'

const signal = new AbortController().signal

/** Three agent pods; `agents` says what each pod's API answers (a pod without an entry is never dialled). */
async function onCluster(check: Check<CheckContext>, agents: Record<string, FakeAgent>, notReady: number[] = []) {
  const pods = Array.from({length: 3}, (_, i) => agentPod(i, {ready: !notReady.includes(i)}))
  const cluster = new FakeCluster({daemonSets: [agentDaemonSet({ready: 3 - notReady.length})], pods, nodes: 3})
  const ctx = withAgents(fakeCheckContext(cluster), agents, pods)
  return check.run(ctx, signal)
}

/** --tetragon-address: one agent, no cluster. */
function standalone(check: Check<CheckContext>, agent: FakeAgent, opts: Partial<DoctorOptions> = {}) {
  return check.run(fakeCheckContext(new FakeCluster({}), {tetragonAddress: 'localhost:54321', ...opts}, agent), signal)
}

describe('one check over several agents', () => {
  it('evaluates the ready agents and names the one that is not ready', async () => {
    const r = await onCluster(tetragonVersion, {'tetragon-0': {}, 'tetragon-1': {}}, [2])
    expect(r.status).toBe('pass')
    expect(r.message).toBe('Tetragon v1.7.0 (within v1.0.0 … v1.7.x) (2 of 3 agents checked; 1 of 3 agents not ready: tetragon-2 on node-2 (tetragon: waiting: CrashLoopBackOff, 6 restarts))')
    expect(r.evidence).toMatchObject({notReady: ['tetragon-2 on node-2 (tetragon: waiting: CrashLoopBackOff, 6 restarts)']})
  })

  it('the worst agent decides, and the message says which node had which verdict', async () => {
    const r = await onCluster(tetragonVersion, {'tetragon-0': {}, 'tetragon-1': {version: 'v0.8.0'}, 'tetragon-2': {}})
    expect(r.status).toBe('fail')
    expect(r.message).toMatch(/^Tetragon v0\.8\.0 is wire-incompatible/)
    expect(r.message).toContain('(3 of 3 agents checked: fail on node-1; pass on node-0, node-2)')
  })

  it('an agent whose API does not answer counts only when none does', async () => {
    const refused = new TetragonError('refused', 'connection refused', '127.0.0.1:40000')
    const some = await onCluster(tetragonVersion, {'tetragon-0': {}, 'tetragon-1': {error: refused}, 'tetragon-2': {}})
    expect(some.status).toBe('pass')
    expect(some.message).toContain('(3 of 3 agents checked: pass on node-0, node-2; not-evaluated on node-1)')
    const none = await onCluster(tetragonVersion, {'tetragon-0': {error: refused}, 'tetragon-1': {error: refused}, 'tetragon-2': {error: refused}})
    expect(none.status).toBe('not-evaluated')
    expect(none.message).toContain("the agent's gRPC API did not answer (connection refused); see tetragon.grpc-reachable")
  })

  it('with no ready agent: not evaluated, naming why each pod is down (tetragon.daemonset reports the rollout)', async () => {
    const r = await onCluster(tetragonVersion, {}, [0, 1, 2])
    expect(r.status).toBe('not-evaluated')
    expect(r.message).toBe('no ready Tetragon agent to talk to (0 of 3 agent pods ready: tetragon-0 on node-0 (tetragon: waiting: CrashLoopBackOff, 6 restarts), tetragon-1 on node-1 (tetragon: waiting: CrashLoopBackOff, 6 restarts), tetragon-2 on node-2 (tetragon: waiting: CrashLoopBackOff, 6 restarts)); see tetragon.daemonset')
  })
})

describe('tetragon.version', () => {
  it.each([
    ['v1.7.0', 'pass', /^Tetragon v1\.7\.0 \(within v1\.0\.0 … v1\.7\.x\)$/],
    ['v1.0.0', 'pass', /^Tetragon v1\.0\.0 /],
    ['v1.7.3', 'pass', /^Tetragon v1\.7\.3 /],
    ['v0.9.0', 'warn', /is older than v1\.0\.0;/],
    ['v1.8.0', 'warn', /is newer than v1\.7\.x \(tetractl's proto is v1\.7\.0/],
    ['v1.7.0-12-g1de2ed8', 'warn', /is an unreleased build \(/],
    ['v0.8.0', 'fail', /wire-incompatible .* changed in v0\.8\.1/],
    ['main', 'warn', /^GetVersion returned "main", which is not a version/],
  ])('%s → %s', async (version, status, message) => {
    const r = await standalone(tetragonVersion, {version})
    expect(r.status).toBe(status)
    expect(r.message).toMatch(message)
    if (status !== 'pass') expect(r.hint).toContain('helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --version 1.7.0')
  })
})

describe('tetragon.policies (standalone: decided by the policies\' names, as no custom resource is read)', () => {
  const enabled = (name: string) => ({name, state: 'TP_STATE_ENABLED', enabled: true})

  it('passes with a network and a file policy loaded', async () => {
    const r = await standalone(tetragonPolicies, {policies: [enabled('connect'), enabled('file-monitoring')]})
    expect(r.status).toBe('pass')
    expect(r.message).toBe('2 TracingPolicies active on localhost:54321; network: connect; file: file-monitoring')
  })

  it('warns with none, and prints the setup command and the upstream examples', async () => {
    const r = await standalone(tetragonPolicies, {policies: []})
    expect(r.status).toBe('warn')
    expect(r.message).toContain('no network (kprobe tcp_connect) and no file-access (kprobe security_file_permission) policy loaded')
    expect(r.hint?.split('\n')).toEqual([
      'tetractl setup --policies network,file',
      'kubectl apply -f https://raw.githubusercontent.com/cilium/tetragon/main/examples/tracingpolicy/tcp-connect.yaml',
      'kubectl apply -f https://raw.githubusercontent.com/cilium/tetragon/main/examples/quickstart/file_monitoring.yaml',
    ])
  })

  it('a disabled policy does not count', async () => {
    const r = await standalone(tetragonPolicies, {policies: [enabled('connect'), {name: 'file-monitoring', state: 'TP_STATE_DISABLED', enabled: false}]})
    expect(r.status).toBe('warn')
    expect(r.hint?.split('\n')[0]).toBe('tetractl setup --policies file')
  })

  it.each([
    ['a load error (v1.x state)', {name: 'file-monitoring', state: 'TP_STATE_LOAD_ERROR', error: 'failed to load kprobe security_path_truncate'}, 'file-monitoring: failed to load kprobe security_path_truncate'],
    ['an error packed into info (before v1.0.0)', {name: 'file-monitoring', info: 'enabled:true filterID:0 namespace: error:failed to attach'}, 'file-monitoring: enabled:true filterID:0 namespace: error:failed to attach'],
  ])('fails on %s', async (_, broken, detail) => {
    const r = await standalone(tetragonPolicies, {policies: [enabled('connect'), broken]})
    expect(r.status).toBe('fail')
    expect(r.message).toBe(`1 TracingPolicy failed to load on localhost:54321: ${detail}`)
    expect(r.hint).toContain('tetra tracingpolicy list')
  })

  it('an info without an error (error:<nil>) is a loaded policy', async () => {
    const r = await standalone(tetragonPolicies, {policies: [enabled('connect'), {name: 'file-monitoring', info: 'enabled:true filterID:0 namespace: error:<nil>'}]})
    expect(r.status).toBe('pass')
  })

  it('skips on agents without ListTracingPolicies (before v0.9.0)', async () => {
    const r = await standalone(tetragonPolicies, {version: 'v0.8.4', noPolicyList: true})
    expect(r.status).toBe('skip')
    expect(r.message).toBe('Tetragon v0.8.4 has no ListTracingPolicies (added in v0.9.0)')
  })
})

describe('tetragon.liveness (grpc.health.v1 "liveness" on the health port, as the chart\'s livenessProbe asks)', () => {
  it('the agent that reports NOT_SERVING decides, and the kubelet will restart it', async () => {
    const r = await onCluster(tetragonLiveness, {'tetragon-0': {}, 'tetragon-1': {health: 'NOT_SERVING'}, 'tetragon-2': {}})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('kube-system/tetragon-1: liveness NOT_SERVING — the agent reports itself unhealthy and the kubelet will restart it (3 of 3 agents checked: fail on node-1; pass on node-0, node-2)')
    expect(r.hint).toBe('kubectl -n kube-system logs tetragon-1 -c tetragon --tail=100')
  })

  it('an answer other than SERVING or NOT_SERVING warns', async () => {
    const r = await standalone(tetragonLiveness, {health: 'SERVICE_UNKNOWN'})
    expect(r.status).toBe('warn')
    expect(r.message).toBe('localhost:54321: health service answers SERVICE_UNKNOWN for "liveness"')
    expect(r.hint).toBe('journalctl -u tetragon -n 100')
  })

  it('standalone: a health server that does not answer names the address probed and the flag to change it', async () => {
    const r = await standalone(tetragonLiveness, {health: new Error('connect ECONNREFUSED 127.0.0.1:6789')})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('the health server of localhost:54321 at localhost:6789 did not answer (connect ECONNREFUSED 127.0.0.1:6789)')
    expect(r.hint).toContain('--tetragon-health-address')
  })

  it('skips an agent whose health address is unknown (a unix socket agent)', async () => {
    const r = await standalone(tetragonLiveness, {healthAddress: null})
    expect(r.status).toBe('skip')
    expect(r.message).toContain('pass --tetragon-health-address host:6789')
  })

  it('a refused port-forward is the permission, raised for the runner to name, not an unhealthy agent', async () => {
    await expect(onCluster(tetragonLiveness, {'tetragon-0': {forwardRefused: true}, 'tetragon-1': {}, 'tetragon-2': {}})).rejects.toBeInstanceOf(ForbiddenError)
  })
})

describe('tetragon.grpc-reachable: the collector\'s path (the services proxy) against the agents\' API (port-forward)', () => {
  // The API server's 503 texts (k8s.io/apimachinery proxy error responder) for the three ways the dial ends.
  const HTTP2 = {status: 503, text: 'error trying to reach service: net/http: HTTP/1.x transport connection broken: malformed HTTP response "\\x00\\x00\\x06\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x05\\x00\\x00@\\x00"'}
  const REFUSED = {status: 503, text: 'error trying to reach service: dial tcp 10.0.0.1:54321: connect: connection refused'}
  const NO_ENDPOINTS = {status: 503, text: 'no endpoints available for service "tetragon-grpc"'}
  const refused = new TetragonError('refused', 'connection refused', '127.0.0.1:40000')

  async function reach(serviceProxy: {status: number; text: string}, serverAddress: string | undefined, agents: Record<string, FakeAgent>) {
    const pods = Array.from({length: 2}, (_, i) => agentPod(i))
    const configMaps = serverAddress === undefined ? [] : [tetragonConfig({'server-address': serverAddress})]
    const cluster = new FakeCluster({daemonSets: [agentDaemonSet({desired: 2})], pods, services: [grpcService()], configMaps, serviceProxy, nodes: 2})
    return grpcReachable.run(withAgents(fakeCheckContext(cluster), agents, pods), signal)
  }
  const both = (a: FakeAgent) => ({'tetragon-0': a, 'tetragon-1': a})
  const fix = 'helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=0.0.0.0:54321'

  it('passes when an HTTP/2 server answers behind the Service and every agent answers GetVersion', async () => {
    const r = await reach(HTTP2, '0.0.0.0:54321', both({}))
    expect(r.status).toBe('pass')
    expect(r.message).toBe("an HTTP/2 (gRPC) server answers on the collector's path to kube-system/tetragon-grpc:54321; GetVersion: v1.7.0 (GetVersion answered on 2 of 2 agents)")
  })

  it('localhost bind: the port-forward answers, the collector is refused', async () => {
    const r = await reach(REFUSED, 'localhost:54321', both({}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe("gRPC answers through a port-forward (Tetragon v1.7.0) but the collector's path to kube-system/tetragon-grpc:54321 is refused: the agent listens on localhost only (server-address localhost:54321)")
    expect(r.hint).toBe(fix)
  })

  it('a unix socket (the chart 1.7 default): refused both ways', async () => {
    const r = await reach(REFUSED, 'unix:///var/run/tetragon/tetragon.sock', both({error: refused}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe("gRPC is a unix socket (/var/run/tetragon/tetragon.sock): refused both on the collector's path to kube-system/tetragon-grpc:54321 and through a port-forward")
    expect(r.hint).toBe(fix)
  })

  it('gRPC disabled (an empty server-address)', async () => {
    const r = await reach(REFUSED, '', both({error: refused}))
    expect(r.status).toBe('fail')
    expect(r.message).toMatch(/^gRPC server disabled \(empty server-address\)/)
  })

  it('no endpoint behind the Service', async () => {
    const r = await reach(NO_ENDPOINTS, '0.0.0.0:54321', both({}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('Service kube-system/tetragon-grpc:54321 has no ready endpoint: a collector dialing it is refused')
  })

  it('a Service pointing at an HTTP/1 port (the metrics server) is not gRPC', async () => {
    const r = await reach({status: 200, text: '# HELP go_gc_duration_seconds'}, '0.0.0.0:54321', both({}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('kube-system/tetragon-grpc:54321 answers plain HTTP (200), not gRPC: the Service points at the wrong port')
    expect(r.hint).toContain('# targetPort must be the gRPC port 54321')
  })

  it('one ready agent whose API does not answer: a warning naming it', async () => {
    const r = await reach(HTTP2, '0.0.0.0:54321', {'tetragon-0': {}, 'tetragon-1': {error: refused}})
    expect(r.status).toBe('warn')
    expect(r.message).toBe("an HTTP/2 (gRPC) server answers on the collector's path to kube-system/tetragon-grpc:54321, but not every ready agent's API answered: node-1 (kube-system/tetragon-1): connection refused (GetVersion answered on 1 of 2 agents)")
    expect(r.hint).toBe('kubectl -n kube-system logs tetragon-1 -c tetragon --tail=50')
  })
})
