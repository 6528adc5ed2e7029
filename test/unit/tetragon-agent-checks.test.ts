// The gRPC checks' logic against in-memory agents (test/fakes/cluster.ts): how one check combines the agents it
// could reach (a not-ready agent must not hide the others' verdicts), the version ranges, and the policy rules.
// The agents' real gRPC, port-forwards included, runs end to end against the lab (test/e2e/doctor-tetragon.test.ts).
import {describe, expect, it} from 'vitest'

import type {DoctorOptions} from '../../src/checks/context.js'
import {tetragonPolicies} from '../../src/checks/tetragon/policies.js'
import {tetragonVersion} from '../../src/checks/tetragon/version.js'
import {TetragonError} from '../../src/clients/tetragon.js'
import type {Check} from '../../src/engine/types.js'
import type {CheckContext} from '../../src/checks/context.js'
import {agentDaemonSet, agentPod, FakeCluster, fakeCheckContext, withAgents, type FakeAgent} from '../fakes/cluster.js'

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
